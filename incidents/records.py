"""What the store hands out: frozen snapshots, never live ORM objects, so callers (CLI, TUI
workers, the runbook engine) can keep them across threads and closed sessions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from incidents.canonical import Origin, iso_utc
from incidents.lifecycle import CLOSED_STATUSES


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    title: str
    severity: str
    status: str
    asset: str
    commander: str | None
    opened_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    event_count: int

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @classmethod
    def from_row(cls, row: Row[Any]) -> Incident:
        return cls(
            id=row.id,
            title=row.title,
            severity=row.severity,
            status=row.status,
            asset=row.asset,
            commander=row.commander,
            opened_at=row.opened_at,
            acknowledged_at=row.acknowledged_at,
            mitigated_at=row.mitigated_at,
            resolved_at=row.resolved_at,
            event_count=row.last_seq,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of `oncall incident show --json`, without `events`."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "asset": self.asset,
            "commander": self.commander,
            "opened_at": _iso(self.opened_at),
            "acknowledged_at": _iso(self.acknowledged_at),
            "mitigated_at": _iso(self.mitigated_at),
            "resolved_at": _iso(self.resolved_at),
        }


@dataclass(frozen=True, slots=True)
class Event:
    """One timeline entry. `id` is unique in the database; `seq` counts 1, 2, … per incident."""

    id: int
    incident_id: str
    seq: int
    at: datetime
    actor: str
    kind: str
    message: str
    data: dict[str, Any]
    prev_hash: str
    hash: str
    #: The OS user and host that wrote it (None on events from before they were recorded).
    os_user: str | None = None
    host: str | None = None
    #: Whether `os_user` acted as `actor`, someone else (`--as` where impersonation is allowed).
    impersonated: bool | None = None

    @property
    def origin(self) -> Origin | None:
        """What the event's hash covers about who wrote it, or None (an older event)."""
        if self.os_user is None:
            return None
        return Origin(self.os_user, self.host or "", bool(self.impersonated))

    @property
    def who(self) -> str:
        """The acting ref, with the OS user and host beside it: `user:default/bob (bob@vm)`, or
        `alice@vm acting as user:default/bob`."""
        if self.os_user is None:
            return self.actor
        if self.impersonated:
            return f"{self.os_user}@{self.host} acting as {self.actor}"
        return f"{self.actor} ({self.os_user}@{self.host})"

    @classmethod
    def from_row(cls, row: Row[Any]) -> Event:
        return cls(
            id=row.id,
            incident_id=row.incident_id,
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            kind=row.kind,
            message=row.message,
            data=json.loads(row.data),
            prev_hash=row.prev_hash,
            hash=row.hash,
            os_user=row.os_user,
            host=row.host,
            impersonated=row.impersonated,
        )

    def to_json(self) -> dict[str, Any]:
        """One element of `events` in `oncall incident show --json`."""
        return {
            "id": self.id,
            "at": iso_utc(self.at),
            "actor": self.actor,
            "kind": self.kind,
            "message": self.message,
            "data": self.data,
            "hash": self.hash,
            "os_user": self.os_user,
            "host": self.host,
            "impersonated": self.impersonated,
        }


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append with `Store.append_events` (several in one transaction): what the
    caller says; the store adds the seq, the time (unless `at` backdates it) and the hashes."""

    kind: str
    message: str
    actor: str
    data: Mapping[str, Any] | None = None
    at: datetime | None = None
