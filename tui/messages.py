"""Messages that travel between widgets and screens (Harlequin's pattern: post, never reach across).

Workers run in threads and post these back; `post_message` is thread-safe, so a worker never
touches a widget directly.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from tui.problems import Problem


class ProblemOccurred(Message):
    """Something failed in a worker; the screen shows it in place with what to do next."""

    def __init__(self, problem: Problem, where: str = "") -> None:
        super().__init__()
        self.problem = problem
        self.where = where


class IncidentsLoaded(Message):
    """A fresh list of incidents from the store."""

    def __init__(self, incidents: list[Any]) -> None:
        super().__init__()
        self.incidents = incidents


class IncidentSelected(Message):
    """The operator chose an incident to open."""

    def __init__(self, incident_id: str) -> None:
        super().__init__()
        self.incident_id = incident_id


class AssetSelected(Message):
    """The operator chose an asset (by canonical ref) in a search list."""

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref


class AssetHighlighted(Message):
    """The cursor moved onto an asset in a search list (details follow the cursor)."""

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref


class AssetsNotFound(Message):
    """A search matched nothing: whatever was shown for the last match no longer applies."""

    def __init__(self, query: str) -> None:
        super().__init__()
        self.query = query


class CatalogReady(Message):
    """The catalog finished loading (or failed: then `problem` says why)."""

    def __init__(self, problem: Problem | None = None) -> None:
        super().__init__()
        self.problem = problem
