"""Errors of the catalog layer. The CLI maps every `GraphError` to exit code 2 and one message."""

from __future__ import annotations


class GraphError(Exception):
    """Base of every user-facing error raised by `graph`."""


class CatalogError(GraphError):
    """A catalog input is wrong in a way that stops the operation; names file, line and entity."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        entity: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.entity = entity
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        what = f"{entity}: " if entity else ""
        super().__init__(f"{where}{what}{message}")
        self.message = message


class AssetNotFound(GraphError):
    """An asset name or ref matches nothing; carries the closest names as suggestions."""

    def __init__(self, text: str, suggestions: list[str]) -> None:
        self.text = text
        self.suggestions = suggestions
        hint = f"; did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no asset named {text!r}{hint}")


class DefinedTwice(GraphError):
    """An asset is defined more than once: no owner is named until the catalog keeps one."""

    def __init__(self, message: str, ref: str, definitions: list[dict[str, object]]) -> None:
        self.ref = ref
        self.definitions = definitions
        super().__init__(message)


class AmbiguousAsset(GraphError):
    """A bare name matches several entities; the operator must pick a canonical ref."""

    def __init__(self, text: str, candidates: list[str]) -> None:
        self.text = text
        self.candidates = candidates
        super().__init__(f"{text!r} is ambiguous; use one of: {', '.join(candidates)}")
