"""The runbooks of a workspace: every file in the runbooks directory with its vetting state.

A malformed file does not hide the others: it is listed as `invalid` with its error, so
`oncall runbook list` shows the whole library and what is wrong with each piece.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from runbooks.errors import RunbookError
from runbooks.params import applies
from runbooks.schema import Runbook, load_runbook
from runbooks.vetting import LockEntry, read_lock, vet_state

if TYPE_CHECKING:
    from graph.model import Entity

State = Literal["vetted", "changed", "unlisted", "invalid"]


class RunbookNotFound(RunbookError):
    """No runbook has this id."""


@dataclass(frozen=True)
class LibraryEntry:
    path: Path
    state: State
    runbook: Runbook | None = None
    error: RunbookError | None = None
    lock: LockEntry | None = None


@dataclass(frozen=True)
class Library:
    """All runbooks found, in file-name order."""

    directory: Path
    lock_file: Path
    entries: tuple[LibraryEntry, ...]

    def get(self, runbook_id: str) -> LibraryEntry:
        matches = [e for e in self.entries if e.runbook and e.runbook.id == runbook_id]
        if len(matches) > 1:
            files = ", ".join(str(e.path) for e in matches)
            raise RunbookError(f"runbook id {runbook_id!r} is defined twice: {files}")
        if matches:
            return matches[0]
        for entry in self.entries:  # a file named after the id that does not load: say why
            if entry.runbook is None and entry.path.stem == runbook_id and entry.error:
                raise entry.error
        known = ", ".join(sorted(e.runbook.id for e in self.entries if e.runbook)) or "none"
        raise RunbookNotFound(f"no runbook {runbook_id!r} in {self.directory} (runbooks: {known})")

    def for_asset(self, entity: Entity) -> list[LibraryEntry]:
        """Runbooks that apply to the asset, valid ones only."""
        return [e for e in self.entries if e.runbook and applies(e.runbook.spec.applies_to, entity)]


def runbook_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())


def load_library(directory: Path, lock_file: Path) -> Library:
    entries_by_id = read_lock(lock_file)
    entries: list[LibraryEntry] = []
    for path in runbook_files(directory):
        try:
            runbook = load_runbook(path)
        except RunbookError as exc:
            entries.append(LibraryEntry(path, "invalid", error=exc))
            continue
        state = vet_state(runbook, entries_by_id)
        entries.append(LibraryEntry(path, state, runbook, lock=entries_by_id.get(runbook.id)))
    return Library(directory, lock_file, tuple(entries))
