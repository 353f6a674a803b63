"""The edge index: each pair once (the first origin wins), neighbours in the order the edges were
found, both directions agreeing, and the mapping view of the dict of dicts it replaced."""

from __future__ import annotations

import marshal

import pytest

from graph.edges import REFERRER_IS_TARGET, WHOLE_TEXT, Adjacency, EdgeIndex
from graph.records import Entity
from graph.table import EntityTable

REFS = ["resource:default/a", "component:default/b", "component:default/c", "user:default/d"]


def _table() -> EntityTable:
    return EntityTable.from_entities(
        Entity(ref=r, kind=r.partition(":")[0], namespace="default", name=r[-1]) for r in REFS
    )


def _index() -> EdgeIndex:
    # a→c, a→b, b→c, a→c again (dropped: the first origin is kept)
    sources, targets = [0, 0, 1, 0], [2, 1, 2, 2]
    files, lines, notes = [0, 0, 1, 1], [5, 6, 7, 8], [0, 0, 0, 1]
    return EdgeIndex.build(
        4,
        sources,
        targets,
        (files, lines, notes),
        ["x.yaml", "runs.ndjson"],
        [REFERRER_IS_TARGET + "dependsOn", WHOLE_TEXT + "OpenLineage run r1"],
    )


def test_each_pair_is_kept_once_with_its_first_origin_in_the_order_found() -> None:
    index = _index()
    table = _table()
    down = Adjacency(index, table, "down")
    assert len(index) == 3
    assert list(down["resource:default/a"]) == ["component:default/c", "component:default/b"]
    assert down["resource:default/a"]["component:default/c"] == (
        "x.yaml:5 (component:default/c dependsOn resource:default/a)"
    )


def test_both_directions_agree() -> None:
    table = _table()
    down = Adjacency(_index(), table, "down")
    up = Adjacency(_index(), table, "up")
    flipped: dict[str, dict[str, str]] = {}
    for source, targets in down.items():
        for target, origin in targets.items():
            flipped.setdefault(target, {})[source] = origin
    assert up == flipped
    assert list(up["component:default/c"]) == ["resource:default/a", "component:default/b"]


def test_only_entities_with_edges_are_keys() -> None:
    down = Adjacency(_index(), _table(), "down")
    assert set(down) == {"resource:default/a", "component:default/b"} and len(down) == 2
    assert "user:default/d" not in down and "nobody" not in down
    assert down.get("user:default/d", {}) == {}
    with pytest.raises(KeyError):
        down["component:default/c"]


def test_the_plain_form_survives_marshal_and_reads_in_place() -> None:
    index = _index()
    again = EdgeIndex.from_state(marshal.loads(marshal.dumps(index.state())))
    table = _table()
    assert Adjacency(again, table, "down") == Adjacency(index, table, "down")
    assert Adjacency(again, table, "up") == Adjacency(index, table, "up")
    assert again.lists("down") == index.lists("down")


def test_an_empty_index_has_no_edges() -> None:
    empty = EdgeIndex.empty(4)
    assert len(empty) == 0 and Adjacency(empty, _table(), "down") == {}
