"""A lazily built tree of what an asset feeds (blast radius) or is fed by (upstream).

The query returns every reached asset with one shortest explaining path. The tree is that
shortest-path tree: each asset appears once, under the asset that reaches it first, with its
hop count. Children are added only when a node is expanded, and at most `PAGE` at a time, so a
catalog of 100k assets never becomes 100k widgets. Selecting a node shows its full path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui.widgets.vocabulary import short_ref

PAGE = 100


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


@dataclass
class ReachIndex:
    """Children by parent, from the query's shortest paths; built once, in a worker."""

    root: str
    reached: dict[str, Reached] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, root: str, affected: Sequence[Any]) -> ReachIndex:
        index = cls(root)
        for item in affected:
            path = tuple(item.path) if item.path else (root, item.ref)
            reached = Reached(item.ref, item.type, item.hops, path, item.owner)
            index.reached[item.ref] = reached
            parent = path[-2] if len(path) >= 2 else root
            index.children.setdefault(parent, []).append(item.ref)
        for refs in index.children.values():
            refs.sort(key=lambda r: (index.reached[r].hops, r))
        return index

    def __len__(self) -> int:
        return len(self.reached)


class DependencyTree(Tree[Any]):
    """Blast radius or upstream of one asset; expand to go deeper, select to see the path."""

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
