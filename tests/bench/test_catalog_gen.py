"""The synthetic workspace: deterministic, loadable with no problems, shaped as the bench expects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import catalog_gen
from graph.loader import load_catalog
from graph.queries import blast_radius

NAME = re.compile(r"[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("bench-ws")
    meta = catalog_gen.generate(1500, root, seed=11)
    return root, meta


def test_the_same_seed_writes_byte_identical_workspaces(tmp_path: Path) -> None:
    catalog_gen.generate(400, tmp_path / "a", seed=3)
    catalog_gen.generate(400, tmp_path / "b", seed=3)
    catalog_gen.generate(400, tmp_path / "c", seed=4)
    first, again, other = (_files(tmp_path / d) for d in "abc")
    assert first == again
    assert first.keys() == other.keys()
    assert first != other


def test_layer_sizes_add_up_to_exactly_n_with_every_layer_present() -> None:
    for n in (6, 7, 50, 999, 100_000, 1_000_003):
        sizes = catalog_gen.layer_sizes(n)
        assert sum(sizes) == n
        assert min(sizes) >= 1
    with pytest.raises(ValueError):
        catalog_gen.layer_sizes(5)


def test_the_generated_workspace_loads_with_no_problems_at_all(
    workspace: tuple[Path, dict],
) -> None:
    root, meta = workspace
    catalog = load_catalog([root / "catalog"], [root / "lineage"])
    assert [str(p) for p in catalog.problems] == []
    kinds: dict[str, int] = {}
    for entity in catalog.entities.values():
        kinds[entity.kind] = kinds.get(entity.kind, 0) + 1
    assert kinds["component"] + kinds["resource"] == meta["assets"] == 1500
    assert kinds["user"] == meta["people"]
    assert kinds["group"] == meta["teams"] + 1  # plus the organisation
    assert len(catalog.rotations) == meta["rotations"]
    assert kinds["job"] == meta["lineage_events"]


def test_every_asset_but_a_source_depends_on_one_to_three_assets_of_the_layer_before(
    workspace: tuple[Path, dict],
) -> None:
    root, _ = workspace
    catalog = load_catalog([root / "catalog"])
    order = [layer.type for layer in catalog_gen.LAYERS]
    for entity in catalog.assets():
        if entity.kind not in ("component", "resource"):
            continue
        layer = order.index("deployment" if entity.type == "feed" else entity.type)
        feeders = catalog.upstream.get(entity.ref, {})
        if layer == 0:
            assert not feeders, entity.ref
            continue
        assert 1 <= len(feeders) <= 3, entity.ref
        for ref in feeders:
            feeder = catalog.entities[ref]
            assert order.index(feeder.type) == layer - 1, (entity.ref, ref)


def test_names_are_valid_backstage_names_and_unique_even_without_their_kind(
    workspace: tuple[Path, dict],
) -> None:
    root, _ = workspace
    catalog = load_catalog([root / "catalog"])
    names = [e.name for e in catalog.entities.values()]
    assert all(NAME.fullmatch(n) and len(n) <= 63 for n in names)
    assert len(set(names)) == len(names)


def test_the_big_source_feeds_about_half_the_graph_as_bench_meta_says(
    workspace: tuple[Path, dict],
) -> None:
    root, meta = workspace
    assert json.loads((root / catalog_gen.META_FILE).read_text()) == meta
    catalog = load_catalog([root / "catalog"], [root / "lineage"])
    affected = blast_radius(catalog, meta["big_source"])
    assert len(affected) == meta["big_source_downstream"]
    assert 0.4 * meta["assets"] <= len(affected) <= 0.65 * meta["assets"]
    target = catalog.resolve(meta["owner_target"])
    assert target.ref == meta["owner_target_ref"]
    assert target.owner == meta["owner_target_team"]
    assert catalog.rotations_by_owner[target.owner]
    assert any(meta["fuzzy_query"] in e.name for e in catalog.assets())


def test_the_command_line_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit) as exited:
        catalog_gen.main(["50", str(tmp_path)])
    assert exited.value.code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
