"""Patching a cached catalog in place (issue 16): after edits that change only what entities say
about themselves, the cached catalog is patched rather than loaded again, and it is exactly the
catalog a fresh load gives; any other edit is refused and the loader reads everything."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from graph import loader
from graph.loader import load_catalog
from graph.model import Catalog
from graph.patch import patch_cached
from graph.table import PackedText

TEAM = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
"""


def resource(name: str, description: str = "a store", **extra: str) -> str:
    metadata = {"name": name, "description": description, **extra}
    fields = ", ".join(f"{key}: {value}" for key, value in metadata.items())
    return (
        "---\napiVersion: backstage.io/v1alpha1\nkind: Resource\n"
        f"metadata: {{{fields}}}\n"
        "spec: {type: training-store, owner: team-a, dependsOn: [resource:alpha-db]}\n"
    )


def plain(value: Any) -> Any:
    """A catalog state with views of the cache file as bytes, so states compare by content."""
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(plain(item) for item in value)
    return value


def same(loaded: Catalog, reference: Catalog) -> None:
    assert plain(loaded.state()) == plain(reference.state())
    assert loaded.table.entities() == reference.table.entities()
    assert loaded.problems == reference.problems


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """a.yaml defines alpha-db; b.yaml defines it again (a duplicate: a.yaml's wins) and beta;
    c.yaml defines gamma and a document that fails validation (a problem)."""
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "a.yaml").write_text(TEAM + resource("alpha-db", "first"), encoding="utf-8")
    (root / "b.yaml").write_text(
        resource("alpha-db", "second").lstrip("-\n") + resource("beta", "b", title="Beta"),
        encoding="utf-8",
    )
    (root / "c.yaml").write_text(
        resource("gamma", "g", title="Gamma").lstrip("-\n")
        + "---\napiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: bad}\n",
        encoding="utf-8",
    )
    return root


def fresh(root: Path) -> Catalog:
    return load_catalog([root], [], None, workers=1)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_descriptions_titles_and_tags_edited_in_two_files_are_patched_as_a_fresh_load_gives(
    catalog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    load_catalog([catalog_dir], [], cache, workers=1)
    edit(catalog_dir / "b.yaml", "description: second", "description: the losing duplicate")
    edit(catalog_dir / "b.yaml", "title: Beta", 'title: "Beta, renamed — ünïcode"')
    edit(catalog_dir / "c.yaml", "title: Gamma", 'title: "Gamma, tagged", tags: [ml, nightly]')
    reference = fresh(catalog_dir)
    with monkeypatch.context() as patch:
        patch.setattr(loader, "_read_files", no_full_load_allowed)
        patched = load_catalog([catalog_dir], [], cache, workers=1)
    same(patched, reference)
    assert patched.entities["resource:default/beta"].title == "Beta, renamed — ünïcode"
    assert patched.entities["resource:default/gamma"].tags == ("ml", "nightly")
    # the duplicate's first definition (a.yaml) is the one kept, untouched by b.yaml's edit
    assert patched.entities["resource:default/alpha-db"].description == "first"
    # what was stored is the patched catalog, and a second edit patches it again
    same(load_catalog([catalog_dir], [], cache, workers=1), reference)
    edit(catalog_dir / "a.yaml", "description: first", "description: first, edited")
    with monkeypatch.context() as patch:
        patch.setattr(loader, "_read_files", no_full_load_allowed)
        again = load_catalog([catalog_dir], [], cache, workers=1)
    same(again, fresh(catalog_dir))


def no_full_load_allowed(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the catalog was loaded again instead of patched")


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("c.yaml", "owner: team-a", "owner: team-b"),  # an owner: a reference, warnings
        ("c.yaml", "name: gamma,", "name: gamma2,"),  # another entity
        ("b.yaml", "name: alpha-db,", "name: alpha-moved,"),  # the duplicate goes away
        ("c.yaml", "description: g,", "description: g,\n  "),  # lines move
        ("c.yaml", "metadata: {name: bad}", "metadata: {name: good}\nspec: {type: db}"),
        ("a.yaml", "spec: {type: team", "spec: {type: team, x-custom: 1"),  # a problem
    ],
)
def test_any_other_edit_is_refused_and_the_full_load_is_right(
    catalog_dir: Path, tmp_path: Path, file: str, old: str, new: str
) -> None:
    cache = tmp_path / "cache"
    load_catalog([catalog_dir], [], cache, workers=1)
    edit(catalog_dir / file, old, new)
    assert patch_cached(cache, [catalog_dir], []) is None
    same(load_catalog([catalog_dir], [], cache, workers=1), fresh(catalog_dir))


def test_a_file_added_is_not_patched(catalog_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_catalog([catalog_dir], [], cache, workers=1)
    (catalog_dir / "d.yaml").write_text(resource("delta").lstrip("-\n"), encoding="utf-8")
    assert patch_cached(cache, [catalog_dir], []) is None
    same(load_catalog([catalog_dir], [], cache, workers=1), fresh(catalog_dir))


def test_packed_text_rows_replaced_are_the_column_packed_again() -> None:
    rng = random.Random(16)
    words = ["", "a", "déjà vu", "x" * 300, None, "日本", "plain text"]
    for _ in range(50):
        values = [rng.choice(words) for _ in range(rng.randrange(1, 40))]
        changes = {
            row: rng.choice(words)
            for row in rng.sample(range(len(values)), min(len(values), rng.randrange(1, 5)))
        }
        expected = [changes.get(row, value) for row, value in enumerate(values)]
        replaced = PackedText.pack(values).replaced(changes)
        assert list(replaced) == expected
        assert [replaced[row] for row in range(len(expected))] == expected
        assert replaced.state() == PackedText.pack(expected).state()


def test_a_patch_parsing_in_a_forked_child_gives_the_fresh_catalog(
    catalog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large caches parse the changed files in a forked child beside the decode: the same
    catalog, and this process parses nothing itself."""
    from graph import parts, patch

    cache = tmp_path / "cache"
    load_catalog([catalog_dir], [], cache, workers=1)
    edit(catalog_dir / "b.yaml", "description: second", "description: forked")
    edit(catalog_dir / "c.yaml", "title: Gamma", "title: Gamma forked")
    monkeypatch.setattr(patch, "FORK_MIN_BYTES", 0)
    here: list[str] = []
    original = parts.parse_to_bytes

    def counting(job: tuple[str, str, bool]) -> bytes:
        here.append(job[1])
        return original(job)

    monkeypatch.setattr(parts, "parse_to_bytes", counting)
    monkeypatch.setattr(loader, "_read_files", no_full_load_allowed)
    patched = load_catalog([catalog_dir], [], cache, workers=1)
    monkeypatch.undo()
    assert here == []  # parsed in the child (a list the child appended to is its own)
    same(patched, fresh(catalog_dir))
    assert patched.entities["resource:default/gamma"].title == "Gamma forked"


def test_a_forked_parse_that_dies_is_done_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child killed before it delivered (SIGKILL): the files are parsed in this process."""
    import os
    import signal

    from graph import parts
    from graph.forked import ParseAside

    parent = os.getpid()
    original = parts.parse_to_bytes
    here: list[str] = []

    def dies_in_the_child(job: tuple[str, str, bool]) -> bytes:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        here.append(job[1])
        return original(job)

    monkeypatch.setattr(parts, "parse_to_bytes", dies_in_the_child)
    job = (TEAM, str(tmp_path / "t.yaml"), True)
    aside = ParseAside([job])
    assert aside._pid is not None
    assert aside.result() == [original(job)]
    assert here == [job[1]]
    ParseAside([job]).discard()  # a child not wanted is stopped and reaped


def test_a_patch_stores_only_its_rows_beside_the_cache_file_until_there_are_too_many(
    catalog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graph import patch

    cache = tmp_path / "cache"
    load_catalog([catalog_dir], [], cache, workers=1)
    (whole,) = cache.glob("catalog-*.bin")
    before = whole.stat()
    edit(catalog_dir / "b.yaml", "description: b,", "description: b once,")
    monkeypatch.setattr(loader, "_read_files", no_full_load_allowed)
    load_catalog([catalog_dir], [], cache, workers=1)
    edit(catalog_dir / "c.yaml", "title: Gamma", "title: Gamma twice")
    load_catalog([catalog_dir], [], cache, workers=1)
    after = whole.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert whole.with_suffix(".rows").is_file()
    monkeypatch.undo()
    cached = load_catalog([catalog_dir], [], cache, workers=1)  # the file and its rows
    same(cached, fresh(catalog_dir))
    assert cached.entities["resource:default/beta"].description == "b once"
    # past ROWS_FILE_MAX rows the whole cache is written again with them, and the rows go
    monkeypatch.setattr(patch, "ROWS_FILE_MAX", 1)
    edit(catalog_dir / "a.yaml", "description: first", "description: first, thrice")
    monkeypatch.setattr(loader, "_read_files", no_full_load_allowed)
    load_catalog([catalog_dir], [], cache, workers=1)
    monkeypatch.undo()
    assert whole.stat().st_ino != before.st_ino
    assert not whole.with_suffix(".rows").exists()
    same(load_catalog([catalog_dir], [], cache, workers=1), fresh(catalog_dir))


def test_a_rows_file_of_another_cache_file_is_ignored(catalog_dir: Path, tmp_path: Path) -> None:
    """Rows written over one cache file never apply to the next one written (a full load)."""
    import shutil

    cache = tmp_path / "cache"
    load_catalog([catalog_dir], [], cache, workers=1)
    edit(catalog_dir / "b.yaml", "description: b,", "description: patched,")
    load_catalog([catalog_dir], [], cache, workers=1)
    (rows,) = cache.glob("catalog-*.rows")
    kept = tmp_path / "kept.rows"
    shutil.copy(rows, kept)
    (catalog_dir / "d.yaml").write_text(resource("delta").lstrip("-\n"), encoding="utf-8")
    load_catalog([catalog_dir], [], cache, workers=1)  # a file added: a full load and write
    (catalog_dir / "d.yaml").unlink()
    edit(catalog_dir / "b.yaml", "description: patched,", "description: b,")
    load_catalog([catalog_dir], [], cache, workers=1)  # full again: the first cache is gone
    shutil.copy(kept, rows)  # stale rows naming the first cache file's id
    same(load_catalog([catalog_dir], [], cache, workers=1), fresh(catalog_dir))
