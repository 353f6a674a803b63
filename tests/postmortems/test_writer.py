"""The no-overwrite rule: a file a person edited is never touched; an untouched draft is replaced;
`force` regenerates the main name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from postmortems.writer import (
    WriteError,
    draft_filename,
    inspect,
    slugify,
    stamp,
    write_draft,
)


def test_the_file_name_is_the_incident_date_and_a_slug_of_its_title() -> None:
    name = draft_filename(date(2024, 5, 4), "Training DB: 4 partial loads (café)!", "INC-7")
    assert name == "2024-05-04-training-db-4-partial-loads-cafe.md"


def test_a_long_title_is_cut_at_a_word_and_an_unsluggable_one_falls_back_to_the_id() -> None:
    slug = slugify("word " * 40, "INC-1")
    assert len(slug) <= 60 and not slug.endswith("-") and slug.endswith("word")
    assert slugify("!!! ???", "INC-12") == "inc-12"
    assert slugify("训练数据库", "INC-3") == "inc-3"


def test_a_stamped_draft_is_recognised_as_untouched_until_someone_edits_it(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text(stamp("# Draft\n\nbody\n", "INC-1"), encoding="utf-8")
    assert inspect(path).kind == "draft" and inspect(path).incident == "INC-1"
    path.write_text(path.read_text().replace("body", "body, edited"), encoding="utf-8")
    assert inspect(path).kind == "edited"


def test_a_draft_whose_editor_dropped_the_final_newline_is_still_untouched(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text(stamp("# Draft\n", "INC-1").rstrip("\n"), encoding="utf-8")
    assert inspect(path).kind == "draft"


def test_a_file_without_the_marker_counts_as_written_by_a_person(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text("# Our postmortem\n", encoding="utf-8")
    assert inspect(path).kind == "edited"
    path.write_bytes(b"\xff\xfe not utf-8")
    assert inspect(path).kind == "edited"
    assert inspect(tmp_path / "absent.md").kind == "absent"


def test_first_write_creates_the_file_and_ends_it_with_the_marker(tmp_path: Path) -> None:
    base = tmp_path / "postmortems" / "2024-05-04-x.md"
    result = write_draft("# One\n", base, "INC-1")
    assert (result.path, result.action) == (base, "created")
    text = base.read_text(encoding="utf-8")
    assert text.startswith("# One\n") and "<!-- oncall-postmortem incident=INC-1 sha256=" in text


def test_an_untouched_draft_is_replaced_in_place(tmp_path: Path) -> None:
    base = tmp_path / "x.md"
    write_draft("# One\n", base, "INC-1")
    result = write_draft("# Two\n", base, "INC-1")
    assert (result.path, result.action) == (base, "replaced-draft")
    assert base.read_text().startswith("# Two\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.md"]


def test_an_edited_draft_is_kept_and_the_new_one_goes_to_dash_2_then_dash_3(tmp_path: Path) -> None:
    base = tmp_path / "x.md"
    write_draft("# One\n", base, "INC-1")
    edited = base.read_text().replace("# One", "# One, with our root cause")
    base.write_text(edited)

    second = write_draft("# Two\n", base, "INC-1")
    assert second.path == tmp_path / "x-2.md" and second.skipped == (base,)
    assert base.read_text() == edited

    again = write_draft("# Two again\n", base, "INC-1")  # x-2 untouched: replaced, no x-3
    assert again.path == tmp_path / "x-2.md" and again.action == "replaced-draft"

    (tmp_path / "x-2.md").write_text("# Two, edited too\n")
    third = write_draft("# Three\n", base, "INC-1")
    assert third.path == tmp_path / "x-3.md"
    assert (tmp_path / "x-2.md").read_text() == "# Two, edited too\n"


def test_another_incidents_untouched_draft_with_the_same_name_is_not_replaced(
    tmp_path: Path,
) -> None:
    base = tmp_path / "x.md"
    write_draft("# Incident one\n", base, "INC-1")
    result = write_draft("# Incident two\n", base, "INC-2")
    assert result.path == tmp_path / "x-2.md"
    assert base.read_text().startswith("# Incident one")


def test_force_regenerates_the_main_file_even_when_edited(tmp_path: Path) -> None:
    base = tmp_path / "x.md"
    base.write_text("# Edited by hand\n")
    result = write_draft("# Fresh\n", base, "INC-1", force=True)
    assert (result.path, result.action) == (base, "forced")
    assert base.read_text().startswith("# Fresh\n")
    assert inspect(base).kind == "draft"


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    base = tmp_path / "x.md"
    write_draft("# One\n", base, "INC-1")
    base.write_text("edited")
    write_draft("# Two\n", base, "INC-1")
    write_draft("# Three\n", base, "INC-1", force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x-2.md", "x.md"]


def test_a_directory_in_the_way_is_a_clear_error(tmp_path: Path) -> None:
    base = tmp_path / "x.md"
    base.mkdir()
    with pytest.raises(WriteError, match=r"x\.md: is a directory"):
        write_draft("# One\n", base, "INC-1")
    with pytest.raises(WriteError, match=r"x\.md: is a directory"):
        write_draft("# One\n", base, "INC-1", force=True)
