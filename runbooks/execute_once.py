"""Execute-once: the one path every effect takes (runbook steps and pages alike).

    lease check → intent (or claim) → effect → done

Every ledger write carries this session's fencing token and is conditional on it; the lease is
re-checked immediately before the effect and before each retry (after any prompt). A session
that was taken over — `resume --force` from another host, a crashed process's run resumed, an
expired lease taken — finds out at its next write or check and raises `Fenced`: it never starts
another effect nor records one. An interrupted step (found `started` by another session) is
claimed with a conditional update on its attempt counter before it is settled or redone.

The effect already in flight when a process froze cannot be recalled: the new session finds
the step in doubt, and its check (or the operator) settles it (DESIGN.md, "Fencing and trust").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from incidents.errors import SessionFenced
from incidents.ledger import LedgerEntry
from incidents.store import Store
from runbooks.actions import ActionFailed, ActionResult
from runbooks.errors import Fenced


class Guard(Protocol):
    """Whether this session still holds what it changes (`runbooks.leasing.LeaseKeeper`)."""

    def confirm(self, assets: Sequence[str]) -> None:
        """Raise `Fenced` unless every lease on `assets` is still this session's."""

    def fenced(self, detail: str = "") -> Fenced:
        """The error to stop with, naming who took the run over."""


@dataclass(frozen=True)
class NoLeases:
    """The guard of an effect that changes no catalog asset (a page): nothing to lease; only
    the ledger's session token fences it."""

    run_id: str

    def confirm(self, assets: Sequence[str]) -> None:
        return None

    def fenced(self, detail: str = "") -> Fenced:
        return Fenced(self.run_id, None, None, detail)


@dataclass
class ExecuteOnce:
    store: Store
    run_id: str
    incident_id: str | None
    session: str
    guard: Guard

    def begin(
        self, key: str, step_id: str, rendered: dict[str, Any], entry: LedgerEntry | None
    ) -> LedgerEntry:
        """Make the step this session's `started` entry: the intent when there is none, a
        restart of a failed one, a claim of one another session left started. Returns the entry
        as it is now; when another session got there first (`owns` is False) the caller stops."""
        try:
            if entry is None:
                return self.store.ledger_intent(
                    key, self.run_id, self.incident_id, step_id, rendered, self.session
                )
            if entry.status == "failed":
                return self.store.ledger_restart(key, self.run_id, self.session)
            if entry.status == "started" and entry.session != self.session:
                return self.store.ledger_claim(key, self.run_id, self.session, entry.attempts)
            return entry
        except SessionFenced as exc:
            raise self.guard.fenced(str(exc)) from exc

    def owns(self, entry: LedgerEntry) -> bool:
        return entry.status == "started" and entry.session == self.session

    def effect(
        self,
        assets: Sequence[str],
        attempts: int,
        do: Callable[[], ActionResult],
        on_retry: Callable[[int, ActionFailed], None],
    ) -> ActionResult:
        """Run the effect, up to `attempts` times; the lease is confirmed immediately before
        each try. The last `ActionFailed` propagates; `Fenced` stops before any further try."""
        for attempt in range(1, attempts + 1):
            self.guard.confirm(assets)
            try:
                return do()
            except ActionFailed as exc:
                if attempt == attempts:
                    raise
                on_retry(attempt, exc)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def done(self, key: str, output: dict[str, Any], effect_count: int) -> LedgerEntry:
        try:
            return self.store.ledger_done(key, output, effect_count, session=self.session)
        except SessionFenced as exc:
            raise self.guard.fenced(str(exc)) from exc

    def failed(self, key: str, error: str) -> LedgerEntry:
        try:
            return self.store.ledger_failed(key, error, session=self.session)
        except SessionFenced as exc:
            raise self.guard.fenced(str(exc)) from exc
