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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, text

from incidents.appending import Appender, Prepared, SqlBySize, prepare_normalised
from incidents.base import StoreBase
from incidents.canonical import Origin, as_utc, canonical_json, normalise_data, sqlite_time
from incidents.errors import InvalidValue
from incidents.lifecycle import CLOSED_STATUSES, normalise_severity, require_text
from incidents.models import ALERT_RECEIPTS

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

_CLOSED = ", ".join(f"'{status}'" for status in sorted(CLOSED_STATUSES))
_OPEN_ON_ASSET_SQL = {
    backend: f"SELECT id FROM incidents WHERE asset = {mark} AND status NOT IN ({_CLOSED}) "
    "ORDER BY number DESC LIMIT 1"
    for backend, mark in (("sqlite", "?"), ("postgresql", "%s"))
}
_FIRING_RECEIPT_SQL = {
    backend: f"SELECT incident_id FROM alert_receipts WHERE fingerprint = {mark} "
    f"AND status = 'firing' AND starts_at = {mark}"
    for backend, mark in (("sqlite", "?"), ("postgresql", "%s"))
}
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:asset))")
_PLACE_RECEIPT_SQL = {
    "sqlite": "UPDATE alert_receipts SET incident_id = ?, event_seq = ? WHERE id = ?",
    "postgresql": "UPDATE alert_receipts SET incident_id = %s, event_seq = %s WHERE id = %s",
}
_RECEIPT_COLUMNS = "fingerprint, status, starts_at, alertname, asset, received_at, data"
_RECEIPT_SQL = {
    backend: SqlBySize(
        f"INSERT INTO alert_receipts ({_RECEIPT_COLUMNS}) VALUES {{rows}} "
        "ON CONFLICT (fingerprint, status, starts_at) DO NOTHING "
        "RETURNING id, fingerprint, status, starts_at",
        row,
    )
    for backend, row in (
        ("sqlite", "(?, ?, ?, ?, ?, ?, ?)"),
        ("postgresql", "(%s, %s, %s, %s, %s, %s, %s::json)"),
    )
}
_RECEIPT_CHUNK = 500
"""Receipts per INSERT: 3,500 parameters, well under SQLite's limit."""


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

        _appender: Appender
        origin: Origin

    def record_alerts(self, alerts: Sequence[IncomingAlert], *, actor: str) -> list[AlertOutcome]:
        """Record a batch of alerts in one transaction: every alert or, on any error, none.

        Returns one outcome per alert, in order. Values are checked before anything is written,
        so an invalid alert refuses the whole batch with `InvalidValue`.

        A batch costs one multi-row receipt INSERT (the repeats fall out of its RETURNING), one
        look-up per asset, one append per incident touched (the store's one append path,
        `Appender.append_within`: the head read under the lock, the events, one move of the
        head) and one receipt UPDATE: a 20-alert group is a handful of statements.
        """
        actor = require_text(actor, "the actor")
        checked: list[IncomingAlert] = []
        prepared: list[Prepared] = []
        for alert in alerts:
            fine, event = _checked(alert, actor, self.origin)
            checked.append(fine)
            prepared.append(event)
        if not checked:
            return []
        with self._db.write() as conn:
            if self._db.backend == "postgresql":
                for asset in sorted({alert.asset or NO_ASSET for alert in checked}):
                    conn.execute(_ADVISORY_LOCK, {"namespace": _ADVISORY_NAMESPACE, "asset": asset})
            now = self._now()
            receipt_ids = self._insert_receipts(conn, checked, now)
            decided: list[tuple[IncomingAlert, str, str | None, int | None]] = []
            open_on: dict[str, str] = {}  # asset -> its open incident, as found or opened here
            batches: dict[str, list[Prepared]] = {}  # incident -> its new events, in order
            for alert, event, receipt_id in zip(checked, prepared, receipt_ids, strict=True):
                if receipt_id is None:
                    decided.append((alert, "duplicate", None, None))
                    continue
                asset = alert.asset or NO_ASSET
                incident_id = self._incident_for(conn, alert, asset, open_on)
                outcome = "appended"
                if incident_id is None:
                    if alert.status != "firing":
                        decided.append((alert, "kept", None, None))
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
                batches.setdefault(incident_id, []).append(event)
                decided.append((alert, outcome, incident_id, receipt_id))
            seqs: dict[str, Iterator[int]] = {
                incident_id: iter(
                    [e.seq for e in self._appender.append_within(conn, incident_id, events)]
                )
                for incident_id, events in batches.items()
            }
            outcomes: list[AlertOutcome] = []
            placed: list[tuple[Any, ...]] = []
            for alert, outcome, incident_id, receipt_id in decided:
                seq = next(seqs[incident_id]) if incident_id is not None else None
                if receipt_id is not None:
                    placed.append((incident_id, seq, receipt_id))
                outcomes.append(
                    AlertOutcome(
                        alert.fingerprint, alert.status, alert.alertname, outcome, incident_id, seq
                    )
                )
            if placed:
                self._place_receipts(conn, placed)
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
        None for a repeat (of an earlier batch, another process's, or earlier in this batch).

        At the driver, one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING per
        `_RECEIPT_CHUNK` alerts: through SQLAlchemy's executemany the bind processing of each
        row cost more than the rest of the batch (values as SQLAlchemy writes them: SQLite's
        naive UTC text for times, JSON text for the data)."""
        postgres = self._db.backend == "postgresql"
        fresh: dict[tuple[str, str, datetime], int] = {}
        for index, alert in enumerate(alerts):
            fresh.setdefault(_key(alert), index)
        received = now if postgres else sqlite_time(as_utc(now))
        keys: dict[tuple[str, str, Any], tuple[str, str, datetime]] = {}
        rows: list[tuple[Any, ...]] = []
        for index, alert in enumerate(alerts):
            if fresh[_key(alert)] != index:
                continue
            starts: Any = alert.starts_at if postgres else sqlite_time(alert.starts_at)
            keys[(alert.fingerprint, alert.status, starts)] = _key(alert)
            rows.append(
                (
                    alert.fingerprint,
                    alert.status,
                    starts,
                    alert.alertname,
                    alert.asset or NO_ASSET,
                    received,
                    canonical_json(alert.data),
                )
            )
        sql = _RECEIPT_SQL[self._db.backend]
        inserted: dict[tuple[str, str, datetime], int] = {}
        with self._appender.driver_cursor(conn) as cursor:
            for first in range(0, len(rows), _RECEIPT_CHUNK):
                chunk = rows[first : first + _RECEIPT_CHUNK]
                cursor.execute(sql.sql(len(chunk)), [value for row in chunk for value in row])
                for receipt_id, fingerprint, status, starts in cursor.fetchall():
                    key = (fingerprint, status, as_utc(starts) if postgres else starts)
                    inserted[keys[key]] = int(receipt_id)
        return [
            inserted.get(_key(alert)) if fresh[_key(alert)] == index else None
            for index, alert in enumerate(alerts)
        ]

    def _place_receipts(self, conn: Connection, placed: list[tuple[Any, ...]]) -> None:
        """Each new receipt's incident and event seq, (incident, seq, receipt) rows."""
        with self._appender.driver_cursor(conn) as cursor:
            cursor.executemany(_PLACE_RECEIPT_SQL[self._db.backend], placed)

    def _incident_for(
        self, conn: Connection, alert: IncomingAlert, asset: str, open_on: dict[str, str]
    ) -> str | None:
        """The incident an alert belongs on: a resolved alert's own firing's incident first (even
        if closed since: the record belongs with it), else the asset's open incident (`open_on`
        remembers it for the rest of the batch). At the driver, like the receipts."""
        postgres = self._db.backend == "postgresql"
        if alert.status == "resolved":
            starts = alert.starts_at if postgres else sqlite_time(alert.starts_at)
            with self._appender.driver_cursor(conn) as cursor:
                cursor.execute(_FIRING_RECEIPT_SQL[self._db.backend], (alert.fingerprint, starts))
                found = cursor.fetchone()
            if found is not None and found[0] is not None:
                return str(found[0])
        if asset in open_on:
            return open_on[asset]
        with self._appender.driver_cursor(conn) as cursor:
            cursor.execute(_OPEN_ON_ASSET_SQL[self._db.backend], (asset,))
            found = cursor.fetchone()
        if found is None:
            return None
        open_on[asset] = str(found[0])
        return open_on[asset]


def _key(alert: IncomingAlert) -> tuple[str, str, datetime]:
    return (alert.fingerprint, alert.status, alert.starts_at)


def _checked(alert: IncomingAlert, actor: str, origin: Origin) -> tuple[IncomingAlert, Prepared]:
    """The alert with its values checked and its data normalised (the receipt keeps that), and
    its `alert` event ready to chain (the same data with the asset, by `actor` from `origin`)."""
    if alert.status not in ALERT_STATES:
        raise InvalidValue(
            f"alert {alert.fingerprint!r}: unknown state {alert.status!r} "
            f"(use {' or '.join(ALERT_STATES)})"
        )
    fingerprint = require_text(alert.fingerprint, "the alert fingerprint")
    if len(fingerprint) > 64:
        raise InvalidValue(f"alert fingerprint {fingerprint[:20]!r}…: longer than 64 characters")
    data = normalise_data(alert.data, "alert data")
    message = require_text(alert.message, "the alert message")
    checked = IncomingAlert(
        fingerprint=fingerprint,
        status=alert.status,
        starts_at=as_utc(alert.starts_at),
        alertname=require_text(alert.alertname, "the alert name"),
        asset=alert.asset,
        title=require_text(alert.title, "the incident title"),
        severity=normalise_severity(alert.severity),
        message=message,
        data=data,
    )
    event = prepare_normalised(
        "alert", message, actor, {**data, "asset": alert.asset}, None, origin
    )
    return checked, event
