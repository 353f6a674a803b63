"""The parsed-catalog cache: a hit gives exactly what a fresh load gives, any change to what the
load read makes it miss, and a broken or unwritable cache is never an error."""

from __future__ import annotations

import os
import pickle
from datetime import date
from pathlib import Path

import pytest

from graph import cache, loader
from graph.loader import load_catalog
from graph.model import Catalog
from tests.conftest import DEMO_WORKSPACE

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: alpha-db, title: Alpha database, tags: [sql]}
spec:
  type: training-store
  owner: team-a
  retention: {until: 2026-01-31, days: 30}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: model-x}
spec: {type: model, owner: team-a, dependsOn: [resource:alpha-db]}
"""


class Reads:
    """Counts the loads that actually read files (a cache hit reads none)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = loader._read_files

        def counting(*args: object) -> Catalog:
            self.count += 1
            return original(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(loader, "_read_files", counting)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    return Reads(monkeypatch)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "all.yaml").write_text(CATALOG, encoding="utf-8")
    return tmp_path


def load(workspace: Path) -> Catalog:
    return load_catalog([workspace / "catalog"], [], cache_dir=workspace / "cache")


def same(a: Catalog, b: Catalog) -> None:
    assert list(a.entities) == list(b.entities)
    assert a.entities == b.entities
    assert a.downstream == b.downstream
    assert a.upstream == b.upstream
    assert a.problems == b.problems
    assert a.rotations == b.rotations
    assert a.names == b.names
    assert a.group_members == b.group_members


def test_a_second_load_comes_from_the_cache_and_equals_the_first(
    workspace: Path, reads: Reads
) -> None:
    first = load(workspace)
    second = load(workspace)
    assert reads.count == 1
    same(first, second)
    assert second.get("resource:default/alpha-db").spec == {
        "retention": {"until": date(2026, 1, 31), "days": 30}
    }


def test_the_demo_catalog_with_rotations_and_lineage_survives_the_cache(
    tmp_path: Path, reads: Reads
) -> None:
    paths = [DEMO_WORKSPACE / "catalog"]
    fresh = load_catalog(paths, cache_dir=tmp_path)
    cached = load_catalog(paths, cache_dir=tmp_path)
    assert reads.count == 1
    same(fresh, cached)
    assert cached.rotations and cached.edge_count == fresh.edge_count


def test_an_edit_of_the_same_size_at_once_is_seen(workspace: Path, reads: Reads) -> None:
    load(workspace)
    path = workspace / "catalog" / "all.yaml"
    path.write_text(CATALOG.replace("alpha-db", "bravo-db"), encoding="utf-8")
    changed = load(workspace)
    assert reads.count == 2
    assert changed.get("resource:default/bravo-db") is not None
    assert changed.get("resource:default/alpha-db") is None


def test_touching_a_file_without_changing_it_keeps_the_cache(workspace: Path, reads: Reads) -> None:
    path = workspace / "catalog" / "all.yaml"
    an_hour_ago = path.stat().st_mtime - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    load(workspace)
    os.utime(path, (an_hour_ago + 60, an_hour_ago + 60))
    load(workspace)
    load(workspace)
    assert reads.count == 1


def test_a_new_file_in_a_catalog_directory_is_seen(workspace: Path, reads: Reads) -> None:
    load(workspace)
    (workspace / "catalog" / "more.yml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-b}\n"
        "spec: {type: team, children: []}\n",
        encoding="utf-8",
    )
    assert load(workspace).get("group:default/team-b") is not None
    assert reads.count == 2


def test_a_location_target_that_appears_later_is_seen(tmp_path: Path, reads: Reads) -> None:
    location = tmp_path / "location.yaml"
    location.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: here}\n"
        "spec: {targets: [./later.yaml, ./globbed/*.yaml]}\n",
        encoding="utf-8",
    )

    def load_location() -> Catalog:
        return load_catalog([location], cache_dir=tmp_path / "cache")

    assert any("does not exist" in p.message for p in load_location().problems)
    (tmp_path / "later.yaml").write_text(CATALOG, encoding="utf-8")
    assert load_location().get("resource:default/alpha-db") is not None
    (tmp_path / "globbed").mkdir()
    (tmp_path / "globbed" / "x.yaml").write_text(
        CATALOG.replace("alpha-db", "gamma-db").replace("team-a", "team-g"), encoding="utf-8"
    )
    assert load_location().get("resource:default/gamma-db") is not None
    assert reads.count == 3


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",
        lambda data: data[: len(data) // 2],
        lambda data: data[:60] + b"\xff" * 200 + data[260:],
        lambda data: b"not a cache at all\n" * 10,
    ],
    ids=["empty", "truncated", "scribbled", "foreign"],
)
def test_a_damaged_cache_is_ignored_and_rewritten(
    workspace: Path, reads: Reads, damage: object
) -> None:
    first = load(workspace)
    (file,) = (workspace / "cache").glob("catalog-*.bin")
    file.write_bytes(damage(file.read_bytes()))  # type: ignore[operator]
    same(first, load(workspace))
    assert reads.count == 2
    same(first, load(workspace))
    assert reads.count == 2


def test_a_cache_written_by_other_code_is_ignored(
    workspace: Path, reads: Reads, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(workspace)
    monkeypatch.setattr(cache, "_code_key", "another version of graph")
    load(workspace)
    assert reads.count == 2


def test_a_cache_directory_that_cannot_be_written_is_not_an_error(
    workspace: Path, reads: Reads
) -> None:
    blocked = workspace / "blocked"
    blocked.write_text("a file where the cache directory should be", encoding="utf-8")
    first = load_catalog([workspace / "catalog"], cache_dir=blocked / "cache")
    second = load_catalog([workspace / "catalog"], cache_dir=blocked / "cache")
    same(first, second)
    assert reads.count == 2


def test_each_set_of_paths_has_its_own_cache_file(workspace: Path) -> None:
    load_catalog([workspace / "catalog"], cache_dir=workspace / "cache")
    load_catalog([workspace / "catalog" / "all.yaml"], cache_dir=workspace / "cache")
    assert len(list((workspace / "cache").glob("catalog-*.bin"))) == 2
    assert not list((workspace / "cache").glob("*.tmp"))


def test_edge_explanations_and_paths_survive_the_cache(workspace: Path) -> None:
    fresh = load(workspace)
    cached = load(workspace)
    origin = cached.downstream["resource:default/alpha-db"]["component:default/model-x"]
    assert origin == fresh.downstream["resource:default/alpha-db"]["component:default/model-x"]
    assert "all.yaml:" in origin and "dependsOn" in origin


def test_a_catalog_read_from_the_cache_can_be_pickled(workspace: Path) -> None:
    load(workspace)
    cached = load(workspace)
    copy = pickle.loads(pickle.dumps(cached))
    same(cached, copy)
