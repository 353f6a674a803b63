"""Reading a YAML file while keeping where every value came from.

Pydantic reports a problem as a path of keys and indexes (`steps.2.action.statement`); the operator
needs a file and a line. `parse_yaml` keeps the composed node tree beside the plain data so that
`SourceMap.line_of(loc)` can turn any such path into the line of the value it names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runbooks.errors import RunbookError


class RunbookFileError(RunbookError):
    """A runbook file cannot be read or parsed; names the file, the line and the step at fault."""

    def __init__(
        self, message: str, *, file: str, line: int | None = None, step: str | None = None
    ) -> None:
        self.file = file
        self.line = line
        self.step = step
        self.message = message
        where = f"{file}:{line}: " if line else f"{file}: "
        what = f"step {step!r}: " if step else ""
        super().__init__(f"{where}{what}{message}")


@dataclass(frozen=True)
class SourceMap:
    """Maps a pydantic location (keys and indexes) to a 1-based line in the source file."""

    root: yaml.Node | None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest node that `loc` reaches; parts that name no node are skipped.

        Skipping matters because pydantic inserts its own parts into a location (the tag of a
        discriminated union, `function-after[...]`); they are not keys of the document.
        """
        node = self.root
        if node is None:
            return None
        for part in loc:
            child = _child(node, part)
            if child is not None:
                node = child
        return node.start_mark.line + 1

    def key_line(self, loc: Sequence[str | int]) -> int | None:
        """Like `line_of` but for a mapping key itself (used for 'unknown key' problems)."""
        if not loc:
            return self.line_of(loc)
        parent = self.root
        for part in loc[:-1]:
            child = _child(parent, part) if parent is not None else None
            if child is not None:
                parent = child
        if isinstance(parent, yaml.MappingNode):
            for key, _value in parent.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(loc[-1]):
                    return key.start_mark.line + 1
        return self.line_of(loc)


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value
        return None
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part]
    return None


def _duplicate_key(node: yaml.Node | None) -> tuple[str, int] | None:
    """The first mapping key that appears twice: YAML loaders silently keep the last one."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    return key.value, key.start_mark.line + 1
                seen.add(key.value)
            found = _duplicate_key(value)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found = _duplicate_key(item)
            if found:
                return found
    return None


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data and its source map; raise with file and line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise RunbookFileError(f"invalid YAML: {exc.problem or exc}", file=file, line=line) from exc
    except yaml.YAMLError as exc:
        raise RunbookFileError(f"invalid YAML: {exc}", file=file) from exc
    duplicate = _duplicate_key(root)
    if duplicate:
        raise RunbookFileError(f"duplicate key {duplicate[0]!r}", file=file, line=duplicate[1])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # compose succeeded, so this is a construction problem
        mark = getattr(exc, "problem_mark", None)
        raise RunbookFileError(
            f"invalid YAML: {exc}", file=file, line=mark.line + 1 if mark else None
        ) from exc
    return data, SourceMap(root)


def read_text(path: Path) -> str:
    """The file's text, or a RunbookFileError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RunbookFileError("no such file", file=str(path)) from exc
    except IsADirectoryError as exc:
        raise RunbookFileError("is a directory, not a runbook file", file=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise RunbookFileError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)
        ) from exc
