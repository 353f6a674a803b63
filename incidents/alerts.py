"""Recording alerts from an intake: deduplicated, on the right incident, all or nothing.

The store knows nothing of Alertmanager or the catalog: the intake (`intake/alerts.py`) turns a
webhook into `IncomingAlert`s with their asset already worked out, and `record_alerts` decides,
in one write transaction, what each one does to the timeline:

- a repeat (same fingerprint, same state, same start) is recognised by the unique key of
  `alert_receipts` and records nothing, whichever process received it first;
- a firing alert on an asset with an open incident goes on that incident's timeline as an
  `alert` event; otherwise it opens an incident on the asset (or on no asset, `NO_ASSET`);
- a resolved alert goes on the timeline of the incident its firing went to (else the asset's
  open incident) and never changes an incident's status: a human decides when it is over.

Two processes deciding "no open incident on this asset, open one" at the same time would open
two; on PostgreSQL each transaction first takes a transaction-scoped advisory lock per asset it
touches (in sorted order, so two batches never wait on each other in a cycle). SQLite's
`BEGIN IMMEDIATE` already lets one writer in at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from incidents.base import StoreBase
from incidents.canonical import Origin, as_utc, canonical_json, event_hash, normalise_data
from incidents.errors import InvalidValue
from incidents.lifecycle import CLOSED_STATUSES, normalise_severity, require_text
from incidents.models import ALERT_RECEIPTS, EVENTS, INCIDENTS

if TYPE_CHECKING:
    from sqlalchemy import Row

    from incidents.records import Event

ALERT_STATES: tuple[str, ...] = ("firing", "resolved")
NO_ASSET = "(no asset)"
"""The asset of an incident opened for alerts no catalog asset could be found for. Never a valid
catalog ref (a ref has no spaces or parentheses), so nothing mistakes it for one."""

OUTCOMES: tuple[str, ...] = ("opened", "appended", "duplicate", "kept")
"""What `record_alerts` did with one alert: opened an incident (and put the alert on it), appended
it to an existing incident, recognised it as a repeat, or kept only its receipt (a resolved alert
with no incident to put it on)."""

_ADVISORY_NAMESPACE = 0x6F6E
"""First key of `pg_advisory_xact_lock(int, int)`, so the intake's per-asset locks never meet
other users of advisory locks (the migration lock uses the one-key form)."""

_OPEN_ON_ASSET = (
    select(INCIDENTS.c.id)
    .where(
        INCIDENTS.c.asset == bindparam("asset"),
        INCIDENTS.c.status.not_in(sorted(CLOSED_STATUSES)),
    )
    .order_by(INCIDENTS.c.number.desc())
    .limit(1)
)
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:asset))")
_PLACE_RECEIPT = (
    update(ALERT_RECEIPTS)
    .where(ALERT_RECEIPTS.c.id == bindparam("receipt"))
    .values(incident_id=bindparam("incident"), event_seq=bindparam("seq"))
)
_INSERT_EVENTS = insert(EVENTS)
_MOVE_HEADS = (
    update(INCIDENTS)
    .where(INCIDENTS.c.id == bindparam("incident"))
    .values(last_seq=bindparam("last_seq"), head_hash=bindparam("head_hash"))
)
_INSERT_RECEIPTS: dict[str, Any] = {}
"""The receipts' INSERT … ON CONFLICT DO NOTHING RETURNING, per backend (see _insert_receipts)."""
_FIRING_RECEIPT = select(ALERT_RECEIPTS.c.incident_id).where(
    ALERT_RECEIPTS.c.fingerprint == bindparam("fingerprint"),
    ALERT_RECEIPTS.c.status == "firing",
    ALERT_RECEIPTS.c.starts_at == bindparam("starts_at"),
)


@dataclass(frozen=True, slots=True)
class IncomingAlert:
    """One alert as the intake understood it, asset resolved (None: no asset could be found)."""

    fingerprint: str
    status: str
    starts_at: datetime
    alertname: str
    asset: str | None
    title: str
    severity: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What recording one alert did (`outcome` is one of `OUTCOMES`)."""

    fingerprint: str
    status: str
    alertname: str
    outcome: str
    incident_id: str | None = None
    seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "status": self.status,
            "alertname": self.alertname,
            "outcome": self.outcome,
            "incident": self.incident_id,
            "seq": self.seq,
        }


class AlertsMixin(StoreBase):
    if TYPE_CHECKING:  # provided by Store (incidents/store.py)

        def _insert_incident(
            self,
            conn: Connection,
            title: str,
            asset: str,
            severity: str,
            *,
            actor: str,
            commander: str | None,
            at: datetime,
        ) -> str: ...

        @staticmethod
        def _incident_row(conn: Connection, incident_id: str, lock: bool = False) -> Row[Any]: ...

        @staticmethod
        def _append(
            conn: Connection,
            incident_id: str,
            *,
            last_seq: int,
            head_hash: str,
            kind: str,
            message: str,
            actor: str,
            data: Any,
            at: datetime,
            origin: Origin | None = None,
        ) -> Event: ...

        origin: Origin

    def record_alerts(self, alerts: Sequence[IncomingAlert], *, actor: str) -> list[AlertOutcome]:
        """Record a batch of alerts in one transaction: every alert or, on any error, none.

        Returns one outcome per alert, in order. Values are checked before anything is written,
        so an invalid alert refuses the whole batch with `InvalidValue`.

        A batch costs one multi-row receipt INSERT (the repeats fall out of its RETURNING), one
        look-up and one row lock per incident touched, one event per new alert, and one receipt
        UPDATE: a 20-alert group is a handful of statements, not a hundred.
        """
        actor = require_text(actor, "the actor")
        checked = [_checked(alert) for alert in alerts]
        if not checked:
            return []
        with self._db.write() as conn:
            if self._db.backend == "postgresql":
                for asset in sorted({alert.asset or NO_ASSET for alert in checked}):
                    conn.execute(_ADVISORY_LOCK, {"namespace": _ADVISORY_NAMESPACE, "asset": asset})
            now = self._now()
            receipt_ids = self._insert_receipts(conn, checked, now)
            outcomes: list[AlertOutcome] = []
            heads: dict[str, tuple[int, str, datetime]] = {}  # incident -> last seq, hash, opened
            placed: list[dict[str, Any]] = []
            open_on: dict[str, str] = {}  # asset -> its open incident, as found or opened here
            events: list[dict[str, Any]] = []
            moved: set[str] = set()
            for alert, receipt_id in zip(checked, receipt_ids, strict=True):
                if receipt_id is None:
                    outcomes.append(
                        AlertOutcome(alert.fingerprint, alert.status, alert.alertname, "duplicate")
                    )
                    continue
                asset = alert.asset or NO_ASSET
                incident_id = self._incident_for(conn, alert, asset, open_on)
                outcome = "appended"
                if incident_id is None:
                    if alert.status != "firing":
                        outcomes.append(
                            AlertOutcome(alert.fingerprint, alert.status, alert.alertname, "kept")
                        )
                        continue
                    incident_id = self._insert_incident(
                        conn,
                        alert.title,
                        asset,
                        alert.severity,
                        actor=actor,
                        commander=None,
                        at=now,
                    )
                    outcome = "opened"
                if alert.status == "firing":
                    open_on[asset] = incident_id
                if incident_id not in heads:
                    row = self._incident_row(conn, incident_id, lock=True)
                    heads[incident_id] = (row.last_seq, row.head_hash, row.opened_at)
                last_seq, head_hash, opened_at = heads[incident_id]
                event = _chained(
                    incident_id,
                    last_seq + 1,
                    head_hash,
                    at=max(now, opened_at),
                    actor=actor,
                    message=alert.message,
                    data={**alert.data, "asset": alert.asset},
                    origin=self.origin,
                )
                events.append(event)
                heads[incident_id] = (event["seq"], event["hash"], opened_at)
                moved.add(incident_id)
                placed.append({"receipt": receipt_id, "incident": incident_id, "seq": event["seq"]})
                outcomes.append(
                    AlertOutcome(
                        alert.fingerprint,
                        alert.status,
                        alert.alertname,
                        outcome,
                        incident_id,
                        event["seq"],
                    )
                )
            if events:  # every new event in one executemany, each chain head moved once
                conn.execute(_INSERT_EVENTS, events)
                conn.execute(
                    _MOVE_HEADS,
                    [
                        {"incident": i, "last_seq": heads[i][0], "head_hash": heads[i][1]}
                        for i in sorted(moved)
                    ],
                )
                conn.execute(_PLACE_RECEIPT, placed)
            return outcomes

    def alert_receipts(self, fingerprint: str | None = None) -> list[dict[str, Any]]:
        """The receipts recorded so far (oldest first), optionally of one fingerprint."""
        query = select(ALERT_RECEIPTS).order_by(ALERT_RECEIPTS.c.id)
        if fingerprint is not None:
            query = query.where(ALERT_RECEIPTS.c.fingerprint == fingerprint)
        with self._db.read() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- internals ------------------------------------------------------------------------------

    def _insert_receipts(
        self, conn: Connection, alerts: list[IncomingAlert], now: datetime
    ) -> list[int | None]:
        """Insert a receipt per alert unless its key is taken; the new receipt's id per alert,
        None for a repeat (of an earlier batch, another process's, or earlier in this batch)."""
        fresh: dict[tuple[str, str, datetime], int] = {}
        for index, alert in enumerate(alerts):
            fresh.setdefault(_key(alert), index)
        rows = [
            {
                "fingerprint": alert.fingerprint,
                "status": alert.status,
                "starts_at": alert.starts_at,
                "alertname": alert.alertname,
                "asset": alert.asset or NO_ASSET,
                "received_at": now,
                "data": alert.data,
            }
            for index, alert in enumerate(alerts)
            if fresh[_key(alert)] == index
        ]
        statement = _INSERT_RECEIPTS.get(self._db.backend)
        if statement is None:  # built once per backend: compiling it per batch cost more than it
            statement = _INSERT_RECEIPTS[self._db.backend] = (
                self._insert(ALERT_RECEIPTS)
                .on_conflict_do_nothing(index_elements=["fingerprint", "status", "starts_at"])
                .returning(
                    ALERT_RECEIPTS.c.id,
                    ALERT_RECEIPTS.c.fingerprint,
                    ALERT_RECEIPTS.c.status,
                    ALERT_RECEIPTS.c.starts_at,
                )
            )
        inserted = {
            (row.fingerprint, row.status, as_utc(row.starts_at)): int(row.id)
            for row in conn.execute(statement, rows)  # executemany: batched into one INSERT
        }
        return [
            inserted.get(_key(alert)) if fresh[_key(alert)] == index else None
            for index, alert in enumerate(alerts)
        ]

    @staticmethod
    def _incident_for(
        conn: Connection, alert: IncomingAlert, asset: str, open_on: dict[str, str]
    ) -> str | None:
        """The incident an alert belongs on: a resolved alert's own firing's incident first (even
        if closed since: the record belongs with it), else the asset's open incident (`open_on`
        remembers it for the rest of the batch)."""
        if alert.status == "resolved":
            found = conn.execute(
                _FIRING_RECEIPT, {"fingerprint": alert.fingerprint, "starts_at": alert.starts_at}
            ).scalar_one_or_none()
            if found is not None:
                return str(found)
        if asset in open_on:
            return open_on[asset]
        found = conn.execute(_OPEN_ON_ASSET, {"asset": asset}).scalar_one_or_none()
        if found is None:
            return None
        open_on[asset] = str(found)
        return open_on[asset]


def _chained(
    incident_id: str,
    seq: int,
    prev_hash: str,
    *,
    at: datetime,
    actor: str,
    message: str,
    data: dict[str, Any],
    origin: Origin,
) -> dict[str, Any]:
    """One `alert` event's row, hashed onto the chain after `prev_hash` (the same hash
    `Store.append_event` computes, so `verify` cannot tell how it was written), with who was at
    the keyboard (the intake server's OS user and host)."""
    digest = event_hash(
        incident_id=incident_id,
        seq=seq,
        at=at,
        actor=actor,
        kind="alert",
        message=message,
        data=data,
        prev_hash=prev_hash,
        origin=origin,
    )
    return {
        "incident_id": incident_id,
        "seq": seq,
        "at": at,
        "actor": actor,
        "kind": "alert",
        "message": message,
        "data": canonical_json(data),
        "prev_hash": prev_hash,
        "hash": digest,
        "os_user": origin.os_user,
        "host": origin.host,
        "impersonated": origin.impersonated,
    }


def _key(alert: IncomingAlert) -> tuple[str, str, datetime]:
    return (alert.fingerprint, alert.status, alert.starts_at)


def _checked(alert: IncomingAlert) -> IncomingAlert:
    if alert.status not in ALERT_STATES:
        raise InvalidValue(
            f"alert {alert.fingerprint!r}: unknown state {alert.status!r} "
            f"(use {' or '.join(ALERT_STATES)})"
        )
    fingerprint = require_text(alert.fingerprint, "the alert fingerprint")
    if len(fingerprint) > 64:
        raise InvalidValue(f"alert fingerprint {fingerprint[:20]!r}…: longer than 64 characters")
    return IncomingAlert(
        fingerprint=fingerprint,
        status=alert.status,
        starts_at=as_utc(alert.starts_at),
        alertname=require_text(alert.alertname, "the alert name"),
        asset=alert.asset,
        title=require_text(alert.title, "the incident title"),
        severity=normalise_severity(alert.severity),
        message=require_text(alert.message, "the alert message"),
        data=normalise_data(alert.data, "alert data"),
    )
