"""Errors of the runbook engine. The CLI maps every `RunbookError` to exit code 2 and one message.

Every error class lives here, in a module that imports nothing heavy, so a front end can match
them by class (the app's `tui/problems.py`) without loading the engine; the modules that raise
them import them from here (and `runbooks.leasing`, `runbooks.vetting`, `runbooks.gate` keep
exporting them by their old names).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incidents.leases import Lease
    from runbooks.permissions import BreakGlassRequest


class RunbookError(Exception):
    """Base of every user-facing error raised by `runbooks`."""


class Fenced(RunbookError):
    """This process no longer drives its run: another session took it over (`resume --force`,
    or its leases expired and were taken), so every write of this session now fails and the
    process stops before any further effect. The CLI exits with code 3 for it.

    The effect already in flight when the process froze cannot be recalled; the step is in
    doubt for the new session, whose check (or operator) settles it."""

    exit_code = 3

    def __init__(self, run_id: str, by: str | None, host: str | None, detail: str = "") -> None:
        self.run_id = run_id
        self.by = by
        self.host = host
        who = f"{by} on host {host}" if by and host else "another session"
        why = f" ({detail})" if detail else ""
        super().__init__(
            f"fenced: {run_id} was taken over by {who}{why}; this process stopped before any "
            "further effect"
        )


class LeaseRefused(RunbookError):
    """Another run holds a live lease on an asset this run must change."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        incident = f" for {lease.incident_id}" if lease.incident_id else ""
        super().__init__(
            f"{lease.asset} is leased by {lease.holder} (run {lease.run_id}{incident}) from "
            f"{lease.host} since {lease.acquired_at:%Y-%m-%d %H:%M:%S} UTC; wait for it, or "
            "take it over with --force --reason TEXT"
        )


class RunStillActive(RunbookError):
    """A resume was asked for a run that may still be running: its process is alive on this
    machine (`alive` True: never taken over), or its lease is live on another machine (`alive`
    None: a written reason takes it over)."""

    def __init__(
        self, message: str, *, run_id: str = "", host: str = "", alive: bool | None = None
    ) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.host = host
        self.alive = alive


class VettingError(RunbookError):
    """Vetting refused (reviewer is the last author, unknown reviewer) or a bad lock file."""


class NotPermitted(RunbookError):
    """The operator may not run a destructive step of this run and gave no break-glass reason;
    refused before the run's first effect. `request` names whom to call instead."""

    def __init__(self, message: str, request: BreakGlassRequest | None = None) -> None:
        super().__init__(message)
        self.request = request


class CannotConfirm(RunbookError):
    """The run would reach a destructive step that nobody can confirm (no terminal, no app,
    no `--yes-destructive`); refused before its first effect instead of stopping half-way."""
