"""Multi-document YAML with line numbers, read through libyaml when it is available.

Why not `yaml.safe_load_all`: every problem must name its line, so each document is composed to
a node tree first (kept only while that document is read) and lines are looked up along a path
such as `("spec", "dependsOn", 2)`. Composing then constructing costs the same as `load_all`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

try:  # the C parser is ~10x faster; fall back to the pure-Python one when libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


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


def iter_documents(text: str) -> Iterator[tuple[Any, Lines] | YamlFailure]:
    """Each non-empty document with its lines; a `YamlFailure` ends the stream when it is malformed."""
    loader = _Loader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
                data = loader.construct_document(node)
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
