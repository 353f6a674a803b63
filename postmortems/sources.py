"""The shapes the draft is built from, as the store hands them out (`incidents.records`,
`incidents.runs.Run`, `incidents.ledger.LedgerEntry`, `incidents.chain.ChainReport`).

Protocols rather than imports of the store's classes, so the building rules can be exercised on
plain values and read only the attributes they name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol


class IncidentLike(Protocol):
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


class EventLike(Protocol):
    seq: int
    at: datetime
    actor: str
    kind: str
    message: str
    data: Mapping[str, Any] | None
    hash: str


class RunLike(Protocol):
    id: str
    runbook_id: str
    version: int
    params: Mapping[str, Any]
    operator: str
    dry_run: bool
    status: str
    kind: str


class LedgerLike(Protocol):
    step_id: str
    status: str
    rendered: Mapping[str, Any]
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class ChainLike(Protocol):
    ok: bool
    count: int
    first_bad: int | None
    reason: str | None


def event_data(event: EventLike) -> Mapping[str, Any]:
    """An event's data, `{}` when it has none."""
    data = event.data
    return data if isinstance(data, Mapping) else {}


def first_text(data: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    """The first non-blank string among `data[key]` for `keys`."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None
