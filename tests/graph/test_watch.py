"""The catalog watch sees files edited, added and removed, and nothing when nothing changed."""

from __future__ import annotations

from pathlib import Path

from graph.watch import CatalogWatch


def test_edits_additions_and_removals_are_seen_once(tmp_path: Path) -> None:
    catalog, lineage = tmp_path / "catalog", tmp_path / "lineage"
    catalog.mkdir()
    lineage.mkdir()
    (catalog / "a.yaml").write_text("a: 1\n", encoding="utf-8")
    (catalog / "notes.txt").write_text("not a catalog file\n", encoding="utf-8")
    (lineage / "runs.ndjson").write_text("{}\n", encoding="utf-8")
    watch = CatalogWatch([catalog], [lineage])
    assert watch.poll() == []
    (catalog / "a.yaml").write_text("a: 22\n", encoding="utf-8")
    (catalog / "b.yml").write_text("b: 1\n", encoding="utf-8")
    (catalog / "notes.txt").write_text("still not\n", encoding="utf-8")
    assert watch.poll() == [str(catalog / "a.yaml"), str(catalog / "b.yml")]
    assert watch.poll() == []
    (lineage / "runs.ndjson").unlink()
    assert watch.poll() == [str(lineage / "runs.ndjson")]
