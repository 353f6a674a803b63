"""A lazily built tree of what an asset feeds (blast radius) or is fed by (upstream).

The query returns every reached asset with one shortest explaining path (lazily: see
`ReachIndex`). The tree is that shortest-path tree: each asset appears once, under the asset that reaches it first, with its
hop count. Children are added only when a node is expanded, and at most `PAGE` at a time, so a
catalog of 100k assets never becomes 100k widgets. Selecting a node shows its full path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui.widgets.vocabulary import short_ref

PAGE = 100

#: `e` expands the whole tree, up to this many nodes (a 100k-asset blast radius stays a page).
EXPAND_ALL_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Reached:
    """One node of the tree: an asset reached from the root, and how."""

    ref: str
    type: str | None
    hops: int
    path: tuple[str, ...]
    owner: str | None


@dataclass(slots=True)
class _More:
    """The 'show more' row under a node with more than a page of children."""

    parent: str
    offset: int


class ReachedByRef(Mapping[str, Reached]):
    """The query's result by ref, each `Reached` made the first time it is read (then kept)."""

    def __init__(self, root: str, items: Sequence[Any], refs: Sequence[str]) -> None:
        self._root = root
        self._items = items
        self._position = {ref: i for i, ref in enumerate(refs)}
        self._made: dict[str, Reached] = {}

    def __getitem__(self, ref: str) -> Reached:
        made = self._made.get(ref)
        if made is None:
            item = self._items[self._position[ref]]
            path = tuple(item.path) if item.path else (self._root, item.ref)
            made = self._made[ref] = Reached(item.ref, item.type, item.hops, path, item.owner)
        return made

    def __contains__(self, ref: object) -> bool:
        return ref in self._position

    def __iter__(self) -> Iterator[str]:
        return iter(self._position)

    def __len__(self) -> int:
        return len(self._position)


class ReachIndex:
    """Children by parent over a query's result, which stays as the query returned it.

    From a `graph.queries.Reach` only two lists of strings are read up front — the refs, and
    the ref each was reached from — so a blast radius of half a 100k-asset graph costs those
    and one dict before the tree shows its first level; the `Affected` behind a node, and its
    path, are made when the tree shows that node (`reached[ref]`). Built once, in a worker.
    """

    def __init__(
        self, root: str, items: Sequence[Any], refs: Sequence[str], parents: Sequence[str]
    ) -> None:
        self.root = root
        self.reached = ReachedByRef(root, items, refs)
        children: dict[str, list[str]] = {}
        for ref, parent in zip(refs, parents, strict=True):
            children.setdefault(parent, []).append(ref)
        for siblings in children.values():
            siblings.sort()  # each one hop further than their parent: by name
        self.children = children

    @classmethod
    def build(cls, root: str, affected: Sequence[Any]) -> ReachIndex:
        """The index of a query's result: a `Reach` (read lazily) or any sequence of items
        with `ref`, `type`, `hops`, `path` and `owner`."""
        from graph.queries import Reach

        if isinstance(affected, Reach):
            return cls(root, affected, affected.refs(), affected.parent_refs())
        refs = [item.ref for item in affected]
        parents = [item.path[-2] if len(item.path) >= 2 else root for item in affected]
        return cls(root, affected, refs, parents)

    def __len__(self) -> int:
        return len(self.reached)


class DependencyTree(Tree[Any]):
    """Blast radius or upstream of one asset; expand to go deeper, select to see the path.

    It opens expanded as far as fits on screen (nearest levels first), so the operator sees
    the whole radius of a small incident without pressing anything; `e` expands everything.
    """

    BINDINGS = [Binding("e", "expand_all", "Expand all", tooltip="Expand every level", show=False)]

    class PathShown(Message):
        """The operator selected a node: here is how the root reaches it."""

        def __init__(self, tree: DependencyTree, reached: Reached) -> None:
            super().__init__()
            self.tree = tree
            self.reached = reached

        @property
        def control(self) -> DependencyTree:
            return self.tree

    def __init__(
        self,
        label: str,
        *,
        describe_owner: Callable[[str | None], str] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(label, id=id)
        self.show_root = True
        self.guide_depth = 3
        self._index: ReachIndex | None = None
        self._describe_owner = describe_owner or (lambda ref: short_ref(ref))

    @property
    def index(self) -> ReachIndex | None:
        return self._index

    def show_index(self, index: ReachIndex, root_label: str) -> None:
        """Replace the tree with `index`'s first level; deeper levels come on expand."""
        self._index = index
        self.clear()
        self.root.set_label(
            Text.assemble((root_label, "bold"), (f" · {len(index)} reached", "dim"))
        )
        self.root.data = None
        self._add_children(self.root, index.root, 0)
        self.root.expand()
        self.expand_to_fit()

    def _rows(self) -> int:
        """How many lines the tree may fill before it scrolls (a guess before the first layout)."""
        return self.scrollable_content_region.height or self.size.height or 12

    def expand_to_fit(self, rows: int | None = None) -> None:
        """Expand level by level (nearest first) while every shown line still fits in `rows`."""
        budget = (rows or self._rows()) - 1 - len(self.root.children)  # the root line too
        level = list(self.root.children)
        while level and budget > 0:
            following: list[TreeNode[Any]] = []
            for node in level:
                if not isinstance(node.data, Reached) or not node.allow_expand:
                    continue
                count = len(self._index.children.get(node.data.ref, [])) if self._index else 0
                if count > budget:
                    return
                self._expand_now(node)
                budget -= len(node.children)
                following.extend(node.children)
            level = following

    def _expand_now(self, node: TreeNode[Any]) -> None:
        """Add a node's children (first page) and open it, without waiting for the event."""
        if isinstance(node.data, Reached) and not node.children:
            self._add_children(node, node.data.ref, 0)
        node.expand()

    def action_expand_all(self) -> None:
        """Every level open, breadth first, up to `EXPAND_ALL_LIMIT` nodes."""
        shown = 0
        level = [self.root]
        while level and shown < EXPAND_ALL_LIMIT:
            following: list[TreeNode[Any]] = []
            for node in level:
                if node is not self.root and not node.allow_expand:
                    continue
                self._expand_now(node)
                shown += len(node.children)
                following.extend(node.children)
                if shown >= EXPAND_ALL_LIMIT:
                    break
            level = following

    def show_message(self, text: str) -> None:
        self._index = None
        self.clear()
        self.root.set_label(Text(text))

    def _label(self, reached: Reached) -> Text:
        """Tree paints Rich text; only text styles here (dim), never colours."""
        hops = "hop" if reached.hops == 1 else "hops"
        owner = self._describe_owner(reached.owner)
        details = f" {reached.type or '?'} · {owner} · {reached.hops} {hops}"
        return Text.assemble(short_ref(reached.ref), (details, "dim"))

    def _add_children(self, node: TreeNode[Any], parent: str, offset: int) -> None:
        assert self._index is not None
        children = self._index.children.get(parent, [])
        for ref in children[offset : offset + PAGE]:
            reached = self._index.reached[ref]
            has_children = bool(self._index.children.get(ref))
            node.add(self._label(reached), data=reached, allow_expand=has_children)
        remaining = len(children) - (offset + PAGE)
        if remaining > 0:
            node.add_leaf(
                Text(f"… {remaining} more: press enter to show them", style="italic"),
                data=_More(parent, offset + PAGE),
            )

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Any]) -> None:
        event.stop()
        node = event.node
        if isinstance(node.data, Reached) and not node.children:
            self._add_children(node, node.data.ref, 0)

    def on_tree_node_selected(self, event: Tree.NodeSelected[Any]) -> None:
        event.stop()
        data = event.node.data
        if isinstance(data, _More):
            parent = event.node.parent
            event.node.remove()
            if parent is not None:
                self._add_children(parent, data.parent, data.offset)
        elif isinstance(data, Reached):
            self.post_message(self.PathShown(self, data))

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        event.stop()
        if isinstance(event.node.data, Reached):
            self.post_message(self.PathShown(self, event.node.data))


def format_path(path: Sequence[str]) -> str:
    return " → ".join(short_ref(ref) for ref in path)
