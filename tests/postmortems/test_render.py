"""The template: bundled, overridable per workspace or per run, and its mistakes point at a line."""

from __future__ import annotations

from pathlib import Path

import pytest

from postmortems.errors import PostmortemError
from postmortems.model import TimelineRow
from postmortems.render import (
    TEMPLATE_NAME,
    TemplateFileError,
    bundled_template_path,
    choose_template,
    render_markdown,
)
from tests.postmortems.factories import T0, sample_draft
from tests.postmortems.mdparse import parse


def test_the_bundled_template_ships_inside_the_package() -> None:
    choice = choose_template(None, None)
    assert choice.origin == "bundled"
    assert Path(choice.path) == Path(bundled_template_path())
    assert Path(choice.path).is_file()
    assert Path(choice.path).parts[-3:] == ("postmortems", "templates", TEMPLATE_NAME)


def test_the_workspace_template_replaces_the_bundled_one(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / TEMPLATE_NAME).write_text("# {{ incident.id }} for the board\n")
    choice = choose_template(None, templates)
    assert choice.origin == "workspace"
    assert render_markdown(sample_draft(), choice) == "# INC-1 for the board\n"


def test_a_template_given_on_the_command_line_beats_the_workspaces(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / TEMPLATE_NAME).write_text("workspace\n")
    option = tmp_path / "mine.md.j2"
    option.write_text("option {{ draft.timeline | length }}\n")
    choice = choose_template(option, templates)
    assert choice.origin == "option"
    assert render_markdown(sample_draft(), choice) == "option 3\n"


def test_an_empty_workspace_templates_directory_keeps_the_bundled_template(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    assert choose_template(None, tmp_path / "templates").origin == "bundled"


def test_an_override_can_extend_the_bundled_template_and_replace_one_block(tmp_path: Path) -> None:
    option = tmp_path / "ours.md.j2"
    option.write_text(
        '{% extends "oncall/postmortem.md.j2" %}\n'
        "{% block lessons %}\n## Lessons\n\nWe use the retro board for these.\n{% endblock %}\n"
    )
    doc = parse(render_markdown(sample_draft(), choose_template(option, None)))
    assert "Lessons" in doc.titles(2) and "Timeline" in doc.titles(2)
    assert doc.text_under("Lessons") == "We use the retro board for these."
    assert "What went well" not in doc.titles(3)


def test_an_override_can_include_a_file_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "footer.md.j2").write_text("Filed by {{ incident.commander }}\n")
    option = tmp_path / "ours.md.j2"
    option.write_text('# {{ incident.id }}\n{% include "footer.md.j2" %}')
    assert render_markdown(sample_draft(), choose_template(option, None)) == (
        "# INC-1\nFiled by user:default/alice\n"
    )


def test_a_syntax_error_names_the_template_file_and_line(tmp_path: Path) -> None:
    option = tmp_path / "broken.md.j2"
    option.write_text("# ok\n\nline three\n{% for e in draft.timeline %}\nno endfor\n")
    with pytest.raises(TemplateFileError) as caught:
        render_markdown(sample_draft(), choose_template(option, None))
    assert caught.value.file == str(option.resolve())
    assert caught.value.line is not None and caught.value.line >= 4
    assert str(caught.value).startswith(f"{option.resolve()}:{caught.value.line}: ")


def test_an_undefined_name_names_the_template_file_and_line(tmp_path: Path) -> None:
    option = tmp_path / "typo.md.j2"
    option.write_text("# {{ incident.id }}\n\n{{ incident.titel }}\n")
    with pytest.raises(TemplateFileError) as caught:
        render_markdown(sample_draft(), choose_template(option, None))
    assert (caught.value.file, caught.value.line) == (str(option.resolve()), 3)
    assert "titel" in str(caught.value)


def test_an_error_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "part.md.j2").write_text("fine\n{{ 1 / 0 }}\n")
    option = tmp_path / "main.md.j2"
    option.write_text('{% include "part.md.j2" %}\n')
    with pytest.raises(TemplateFileError) as caught:
        render_markdown(sample_draft(), choose_template(option, None))
    assert (caught.value.file, caught.value.line) == (str(tmp_path / "part.md.j2"), 2)


def test_a_missing_include_names_the_line_that_asked_for_it(tmp_path: Path) -> None:
    option = tmp_path / "main.md.j2"
    option.write_text('one\n{% include "nowhere.md.j2" %}\n')
    with pytest.raises(TemplateFileError) as caught:
        render_markdown(sample_draft(), choose_template(option, None))
    assert "nowhere.md.j2" in str(caught.value)
    assert (caught.value.file, caught.value.line) == (str(option.resolve()), 2)


def test_a_template_file_that_does_not_exist_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(PostmortemError, match="no such template file"):
        choose_template(tmp_path / "absent.md.j2", None)


def test_a_template_that_is_not_utf8_is_a_user_error(tmp_path: Path) -> None:
    option = tmp_path / "latin1.md.j2"
    option.write_bytes("caf\xe9 {{ incident.id }}\n".encode("latin-1"))
    with pytest.raises(TemplateFileError, match="cannot read template"):
        render_markdown(sample_draft(), choose_template(option, None))


def test_the_bundled_template_renders_every_section_in_order() -> None:
    doc = parse(render_markdown(sample_draft(), choose_template(None, None)))
    assert doc.titles(1) == ["Postmortem: INC-1 — Training DB | partial loads"]
    assert doc.titles(2) == [
        "Summary",
        "Impact",
        "Timeline",
        "Detection and response",
        "Metrics",
        "Root cause",
        "Lessons",
        "Action items",
    ]
    [timeline] = doc.tables_under("Timeline")
    assert timeline.column("What") == [
        "opened: partial loads",
        "load 4 failed",
        "saw | 4 loads\n`x`",
    ]


def test_an_empty_timeline_renders_a_table_with_no_rows() -> None:
    doc = parse(render_markdown(sample_draft(timeline=()), choose_template(None, None)))
    [timeline] = doc.tables_under("Timeline")
    assert timeline.rows == []


def test_hostile_text_everywhere_never_adds_a_heading_or_a_table_row() -> None:
    hostile = "x |\n# heading\n| a | b |\n|---|\n```\n<!-- -->"
    rows = tuple(TimelineRow(i, T0, hostile, hostile, hostile) for i in range(1, 4))
    doc = parse(render_markdown(sample_draft(timeline=rows), choose_template(None, None)))
    assert len(doc.titles(2)) == 8
    [timeline] = doc.tables_under("Timeline")
    assert timeline.rows == [[T0.strftime("%Y-%m-%d %H:%M:%S"), hostile, hostile, hostile]] * 3


def test_the_workspace_template_can_extend_the_bundled_one_by_its_own_name(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / TEMPLATE_NAME).write_text(
        '{% extends "postmortem.md.j2" %}\n{% block root_cause %}## Root cause\n\nSee the RFC.\n'
        "{% endblock %}\n"
    )
    doc = parse(render_markdown(sample_draft(), choose_template(None, templates)))
    assert doc.text_under("Root cause") == "See the RFC."
    assert "Timeline" in doc.titles(2)


def test_an_override_edited_between_renders_is_rendered_as_it_is_now(tmp_path: Path) -> None:
    """Compiled templates are kept between renders (issue 16); an edited file is not stale."""
    (tmp_path / "footer.md.j2").write_text("first footer\n")
    option = tmp_path / "ours.md.j2"
    option.write_text('# {{ incident.id }}\n{% include "footer.md.j2" %}')
    choice = choose_template(option, None)
    assert render_markdown(sample_draft(), choice) == "# INC-1\nfirst footer\n"
    option.write_text('## {{ incident.id }} again\n{% include "footer.md.j2" %}')
    (tmp_path / "footer.md.j2").write_text("second footer, longer\n")
    assert render_markdown(sample_draft(), choice) == "## INC-1 again\nsecond footer, longer\n"
    assert render_markdown(sample_draft(), choose_template(None, None)).startswith("# ")
