"""The blast-radius tree stays small however big the graph: a page of children at a time."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from textual.app import App, ComposeResult

from tui.widgets.dependency_tree import PAGE, DependencyTree, Reached, ReachIndex


@dataclass
class Affected:
    ref: str
    type: str
    hops: int
    path: list[str]
    owner: str | None


ROOT = "resource:default/hub"


def _fan_out(width: int, depth2: int) -> list[Affected]:
    """`width` direct children of the hub, the first one with `depth2` children of its own."""
    items = [
        Affected(
            f"component:default/c{i:04d}", "model", 1, [ROOT, f"component:default/c{i:04d}"], None
        )
        for i in range(width)
    ]
    first = items[0].ref
    items += [
        Affected(
            f"component:default/g{j:04d}",
            "feed",
            2,
            [ROOT, first, f"component:default/g{j:04d}"],
            None,
        )
        for j in range(depth2)
    ]
    return items


class TreeApp(App[None]):
    def __init__(self, index: ReachIndex) -> None:
        super().__init__()
        self.index = index

    def compose(self) -> ComposeResult:
        yield DependencyTree("blast radius")

    def on_mount(self) -> None:
        self.query_one(DependencyTree).show_index(self.index, "hub feeds")


def _count_nodes(tree: DependencyTree) -> int:
    stack, count = [tree.root], 0
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(node.children)
    return count


async def test_a_wide_blast_radius_shows_one_page_and_a_more_row() -> None:
    index = ReachIndex.build(ROOT, _fan_out(PAGE * 2 + 50, 5))
    assert len(index) == PAGE * 2 + 55
    app = TreeApp(index)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one(DependencyTree)
        children = tree.root.children
        assert len(children) == PAGE + 1
        assert not isinstance(children[-1].data, Reached)
        assert "250 more" not in str(children[-1].label)
        assert f"{PAGE + 50} more" in str(children[-1].label)
        # The whole tree holds one page plus the root and the 'more' row: nothing deeper yet.
        assert _count_nodes(tree) == PAGE + 2
        tree.select_node(children[-1])
        await pilot.pause()
        assert len(tree.root.children) == 2 * PAGE + 1
        tree.select_node(tree.root.children[-1])
        await pilot.pause()
        assert len(tree.root.children) == 2 * PAGE + 50
        assert all(isinstance(n.data, Reached) for n in tree.root.children)


async def test_children_appear_on_expand_under_the_node_that_reaches_them_first() -> None:
    index = ReachIndex.build(ROOT, _fan_out(3, 40))  # the second level does not fit in 24 rows
    app = TreeApp(index)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one(DependencyTree)
        first = tree.root.children[0]
        assert first.allow_expand and not first.children
        assert not tree.root.children[1].allow_expand
        first.expand()
        await pilot.pause()
        assert [n.data.ref for n in first.children] == [
            f"component:default/g{j:04d}" for j in range(40)
        ]
        assert all(n.data.hops == 2 for n in first.children)
        assert "2 hops" in str(first.children[0].label)
        assert "1 hop" in str(tree.root.children[1].label)
        assert "1 hops" not in str(tree.root.children[1].label)


async def test_a_radius_that_fits_opens_expanded_and_e_expands_one_that_does_not() -> None:
    small = TreeApp(ReachIndex.build(ROOT, _fan_out(3, 4)))
    async with small.run_test(size=(80, 24)):
        tree = small.query_one(DependencyTree)
        assert _count_nodes(tree) == 1 + 3 + 4  # every level, without a key
        assert tree.root.children[0].is_expanded
    large = TreeApp(ReachIndex.build(ROOT, _fan_out(3, 40)))
    async with large.run_test(size=(80, 24)) as pilot:
        tree = large.query_one(DependencyTree)
        assert _count_nodes(tree) == 1 + 3
        tree.focus()
        await pilot.press("e")
        await pilot.pause()
        assert _count_nodes(tree) == 1 + 3 + 40
        assert tree.root.children[0].is_expanded


def _demo_reach():  # type: ignore[no-untyped-def]
    from graph.loader import load_catalog
    from graph.queries import blast_radius
    from tests.conftest import DEMO_WORKSPACE

    catalog = load_catalog([DEMO_WORKSPACE / "catalog"])
    return blast_radius(catalog, "resource:default/ops-db")


def test_an_index_of_a_lazy_reach_equals_the_index_of_its_items() -> None:
    reach = _demo_reach()
    lazy = ReachIndex.build("resource:default/ops-db", reach)
    eager = ReachIndex.build("resource:default/ops-db", list(reach))
    assert len(lazy) == len(eager) == len(reach)
    assert lazy.children == eager.children
    assert set(lazy.reached) == set(eager.reached)
    for ref in eager.reached:
        assert lazy.reached[ref] == eager.reached[ref]


def test_an_index_of_a_lazy_reach_reads_an_item_only_when_it_is_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from graph.queries import Reach

    reach = _demo_reach()
    read: list[int] = []
    original = Reach.__getitem__

    def counting(self: Reach, index: int) -> object:
        read.append(index)
        return original(self, index)

    def refused(self: Reach) -> None:
        raise AssertionError("the whole reach was iterated")

    monkeypatch.setattr(Reach, "__iter__", refused)
    monkeypatch.setattr(Reach, "__getitem__", counting)
    index = ReachIndex.build("resource:default/ops-db", reach)
    assert read == []
    first = index.children["resource:default/ops-db"][0]
    shown = index.reached[first]
    assert shown.hops == 1 and shown.path == ("resource:default/ops-db", first)
    assert index.reached[first] is shown
    assert len(read) == 1
