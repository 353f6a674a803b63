"""Errors of the store. The CLI maps every `StoreError` to exit code 2 and one message."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incidents.leases import Lease


class StoreError(Exception):
    """Base of every user-facing error raised by `incidents`."""


class StoreUnavailable(StoreError):
    """The database cannot be opened, reached, written or locked; nothing was changed."""


class StoreBusy(StoreUnavailable):
    """Another process held the database's lock for longer than the busy timeout: it is in use,
    so nothing of it may be cleaned up as if this process had made it alone."""


class ReadOnlyStore(StoreUnavailable):
    """A write was asked of a store opened read-only (its file or folder cannot be written)."""


class SchemaTooNew(StoreError):
    """The database was migrated by a newer oncall; touching it could corrupt what it wrote."""


class InvalidValue(StoreError):
    """A value given to the store breaks its rules (unknown severity, kind, status, empty title)."""


class IncidentNotFound(StoreError):
    """No incident has the given id."""

    def __init__(self, incident_id: str) -> None:
        self.incident_id = incident_id
        super().__init__(f"no incident {incident_id}")


class IllegalTransition(StoreError):
    """A status change that would move an incident backwards or nowhere."""

    def __init__(self, incident_id: str, current: str, requested: str) -> None:
        self.incident_id = incident_id
        self.current = current
        self.requested = requested
        if current == requested:
            why = f"it is already {current}"
        else:
            why = f"it is {current}, and status never moves backwards"
        super().__init__(f"{incident_id} cannot become {requested}: {why}")


class RunNotFound(StoreError):
    """No runbook run has the given id."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run {run_id}")


class LedgerConflict(StoreError):
    """A ledger entry was asked to change in a way that would break exactly-once bookkeeping."""


class LeaseHeld(StoreError):
    """Another run holds a live lease on the asset; says who, since when and from where."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        incident = f", incident {lease.incident_id}" if lease.incident_id else ""
        super().__init__(
            f"{lease.asset} is leased by {lease.holder} (run {lease.run_id}{incident}) "
            f"from {lease.host} since {lease.acquired_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"until {lease.expires_at:%Y-%m-%d %H:%M:%S} UTC unless renewed"
        )


class LeaseLost(StoreError):
    """A run tried to renew a lease it no longer holds (released, or taken over with --force)."""


class SessionFenced(LedgerConflict):
    """A write of a session that no longer drives the run: another session (a takeover, with a
    new fencing token) claimed the step or the run since. The writer must stop acting."""
