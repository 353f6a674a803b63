"""Multi-document YAML with line numbers, read through libyaml when it is available.

Why not `yaml.safe_load_all`: every problem must name its line, so each document is composed to
a node tree first (kept only while that document is read) and lines are looked up along a path
such as `("spec", "dependsOn", 2)`. Documents are built from the nodes by `_construct`, which does
what PyYAML's safe constructor does for plain documents in a fifth of the time (its generic
machinery dominated a 100k-entity load); anything unusual falls back to PyYAML's own constructor.
Tags are resolved by `_FastLoader`, which answers what PyYAML's resolver answers without its
per-node bookkeeping for path resolvers (which the safe loader has none of).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # the C parser is ~10x faster; fall back to the pure-Python one when libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


STR_TAG = "tag:yaml.org,2002:str"
SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"
MERGE_TAG = "tag:yaml.org,2002:merge"


class _FastLoader(_Loader):  # type: ignore[valid-type, misc]
    """The safe loader with a quicker tag resolver, used while no path or wildcard resolver has
    been registered (PyYAML's API allows it, globally; then `_Loader` itself is used).

    libyaml's composer calls `resolve` for each of the ~30 nodes of every document, and
    `descend_resolver`/`ascend_resolver` around each collection; without path resolvers the
    latter two do nothing, so they are C callables that do nothing cheaply.
    """

    def resolve(self, kind: type[Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1] if value else "", ()):
                    if regexp.match(value):
                        return tag  # type: ignore[no-any-return]
            return STR_TAG
        return SEQ_TAG if kind is SequenceNode else MAP_TAG

    descend_resolver = staticmethod(slice)  # (node, index) -> a throwaway slice
    ascend_resolver = staticmethod(tuple)  # () -> the empty tuple


def _loader(text: str) -> Any:
    plain = _Loader.yaml_path_resolvers or None in _Loader.yaml_implicit_resolvers
    return _Loader(text) if plain else _FastLoader(text)


@dataclass(frozen=True, slots=True)
class YamlFailure:
    """The YAML stream is malformed at `line`; documents before it were still read."""

    line: int | None
    message: str


class Lines:
    """Line numbers (1-based) inside one composed document."""

    __slots__ = ("root",)

    def __init__(self, root: Node) -> None:
        self.root = root

    @property
    def start(self) -> int:
        return self.root.start_mark.line + 1

    def at(self, *path: str | int) -> int:
        """The line of the deepest node along `path` that exists (the document start at worst)."""
        node = self.root
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1

    def fields(self, *path: str | int) -> dict[str, Node]:
        """The value nodes of the mapping at `path` by key (empty when it is not a mapping)."""
        node: Node | None = self.root
        for step in path:
            node = _child(node, step) if node is not None else None
        if not isinstance(node, MappingNode):
            return {}
        return {key.value: value for key, value in node.value if isinstance(key, ScalarNode)}

    def entity_line(self) -> int:
        """Where an entity is best pointed at: its `metadata.name`, else the document start."""
        return self.at("metadata", "name")


def _child(node: Node, step: str | int) -> Node | None:
    if isinstance(node, MappingNode) and isinstance(step, str):
        for key, value in node.value:
            if getattr(key, "value", None) == step:
                return value
    elif isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return node.value[step]
    return None


class _Unusual(Exception):
    """The document uses a feature the fast path leaves to PyYAML (merge keys, recursion)."""


def _construct(loader: Any, node: Node) -> Any:
    """The document's Python value, the same as `loader.construct_document(node)` gives."""
    try:
        return _fast(loader, node, {}, set())
    except (_Unusual, TypeError, RecursionError):
        return loader.construct_document(node)
    finally:
        # construct_object caches by node; nodes die with the document and their ids are reused
        loader.constructed_objects = {}
        loader.recursive_objects = {}


def _fast(loader: Any, node: Node, done: dict[int, Any], busy: set[int]) -> Any:
    cls = node.__class__
    if cls is ScalarNode:
        return node.value if node.tag == STR_TAG else loader.construct_object(node)
    key = id(node)
    if key in done:  # an alias: the same object, as PyYAML gives
        return done[key]
    if key in busy:
        raise _Unusual("recursive alias")
    busy.add(key)
    if cls is MappingNode:
        value: Any = {}
        for k, v in node.value:
            if k.tag == MERGE_TAG:
                raise _Unusual("merge key")
            value[_fast(loader, k, done, busy)] = _fast(loader, v, done, busy)
    elif cls is SequenceNode:
        value = [_fast(loader, child, done, busy) for child in node.value]
    else:
        raise _Unusual(f"node {cls.__name__}")
    if node.tag not in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
        raise _Unusual(f"tag {node.tag}")  # !!set, !!omap, !!pairs: PyYAML knows them
    busy.discard(key)
    done[key] = value
    return value


def iter_documents(text: str) -> Iterator[tuple[Any, Lines] | YamlFailure]:
    """Each non-empty document with its lines; a `YamlFailure` ends the stream when it is malformed."""
    loader = _loader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
                data = _construct(loader, node)
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                line = mark.line + 1 if mark is not None else None
                problem = exc.problem or "malformed YAML"
                context = f" ({exc.context})" if exc.context else ""
                yield YamlFailure(line, f"malformed YAML: {problem}{context}")
                return
            except yaml.YAMLError as exc:
                yield YamlFailure(None, f"malformed YAML: {exc}")
                return
            if data is None:
                continue
            yield data, Lines(node)
    finally:
        loader.dispose()
