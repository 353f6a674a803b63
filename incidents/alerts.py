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

from incidents.appending import (
    Appender,
    Head,
    Prepared,
    SqlBySize,
    numbered,
    prepare_normalised,
)
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
    for backend, mark in (("sqlite", "?"), ("postgresql", "$1"))
}
_FIRING_RECEIPT_SQL = {
    backend: f"SELECT incident_id FROM alert_receipts WHERE fingerprint = {mark} "
    f"AND status = 'firing' AND starts_at = {mark2}"
    for backend, mark, mark2 in (("sqlite", "?", "?"), ("postgresql", "$1", "$2"))
}
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:asset))")
_PLACE_RECEIPT_SQL = {
    "sqlite": "UPDATE alert_receipts SET incident_id = ?, event_seq = ? WHERE id = ?",
    "postgresql": "UPDATE alert_receipts SET incident_id = $1, event_seq = $2 WHERE id = $3",
}
_RECEIPT_COLUMNS = "fingerprint, status, starts_at, alertname, asset, received_at, data"
_RECEIPT_SQL = {
    backend: SqlBySize(
        f"INSERT INTO alert_receipts ({_RECEIPT_COLUMNS}) VALUES {{rows}} "
        "ON CONFLICT (fingerprint, status, starts_at) DO NOTHING "
        "RETURNING id, fingerprint, status, starts_at",
        row,
        numbered=backend == "postgresql",
    )
    for backend, row in (
        ("sqlite", "(?, ?, ?, ?, ?, ?, ?)"),
        ("postgresql", "(%s, %s, %s, %s, %s, %s, %s::json)"),
    )
}
_PLACE_MANY_SQL = SqlBySize(
    "UPDATE alert_receipts AS r SET incident_id = v.incident_id, event_seq = v.seq "
    "FROM (VALUES {rows}) AS v (id, incident_id, seq) WHERE r.id = v.id",
    "(%s::integer, %s::varchar, %s::integer)",
    numbered=True,
)
_OPEN_HEAD_SQL = numbered(
    "SELECT id, last_seq, head_hash, opened_at FROM incidents WHERE asset = %s "
    f"AND status NOT IN ({_CLOSED}) ORDER BY number DESC LIMIT 1 FOR UPDATE"
)
"""The asset's open incident with its chain head, locked (PostgreSQL's pipelined way)."""
_FIRING_HEAD_SQL = numbered(
    "SELECT i.id, i.last_seq, i.head_hash, i.opened_at FROM alert_receipts AS r "
    "JOIN incidents AS i ON i.id = r.incident_id WHERE r.fingerprint = %s "
    "AND r.status = 'firing' AND r.starts_at = %s FOR UPDATE OF i"
)
"""A resolved alert's firing's incident with its chain head, locked."""
_ADVISORY_LOCK_SQL = "SELECT pg_advisory_xact_lock($1, hashtext($2))"
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

        On PostgreSQL those statements go in two round trips (`_record_pipelined`) whenever
        every new firing alert has an incident to go on; a batch that must open an incident
        takes the way below (one round trip a statement), as does every batch on SQLite,
        where a statement is a function call.
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
        if self._db.backend == "postgresql":
            self._db.refuse_if_read_only()
            done = self._record_pipelined(checked, prepared)
            if done is not None:
                return done
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
        receipts = _Receipts(alerts, now, self._db.backend)
        with self._appender.driver_cursor(conn) as cursor:
            for sql, params in receipts.statements():
                cursor.execute(sql, params)
                receipts.inserted(cursor.fetchall())
        return receipts.ids()

    def _record_pipelined(
        self, checked: list[IncomingAlert], prepared: list[Prepared]
    ) -> list[AlertOutcome] | None:
        """PostgreSQL: `record_alerts` in two round trips, or None (nothing written) when a new
        firing alert has no incident to go on (opening one takes the one-statement-a-round-trip
        way).

        1. One pipeline: `BEGIN`, the per-asset advisory locks (sorted, as the other way takes
           them), the receipts (the repeats fall out of RETURNING), each asset's open incident
           and each resolved alert's firing's incident, both with the chain head and locked
           (`FOR UPDATE`): everything the decisions need, the heads under the row lock.
        2. One pipeline: per incident touched the one-statement append from that head, the new
           receipts' places in one UPDATE, and `COMMIT`.

        The same decisions as the other way, under the same locks: a repeat is the receipt key
        already taken (whoever took it), and the chain is written only by a transaction
        holding the incident's row lock, from the head read under it.
        """
        appender = self._appender
        receipts = _Receipts(checked, self._now(), "postgresql")
        assets = sorted({alert.asset or NO_ASSET for alert in checked})
        resolved = sorted(
            {
                (alert.fingerprint, alert.starts_at)
                for alert in checked
                if alert.status == "resolved"
            }
        )
        with appender.pipelined() as conn:
            locks = conn.cursor()
            receipt_cursors: list[Any] = []
            open_cursors: dict[str, Any] = {}
            firing_cursors: dict[tuple[str, datetime], Any] = {}
            with conn.pipeline():
                locks.execute("BEGIN")
                for asset in assets:
                    locks.execute(_ADVISORY_LOCK_SQL, (_ADVISORY_NAMESPACE, asset))
                for sql, params in receipts.statements():
                    receipt_cursors.append(conn.cursor())
                    receipt_cursors[-1].execute(sql, params)
                for asset in assets:
                    open_cursors[asset] = conn.cursor()
                    open_cursors[asset].execute(_OPEN_HEAD_SQL, (asset,))
                for key in resolved:
                    firing_cursors[key] = conn.cursor()
                    firing_cursors[key].execute(_FIRING_HEAD_SQL, key)
            for cursor in receipt_cursors:
                receipts.inserted(cursor.fetchall())
            heads: dict[str, Head] = {}
            open_on: dict[str, str] = {}
            for asset, cursor in open_cursors.items():
                if (row := cursor.fetchone()) is not None:
                    open_on[asset] = row[0]
                    heads[row[0]] = appender.head_from(row[1:])
            firing_on: dict[tuple[str, datetime], str] = {}
            for key, cursor in firing_cursors.items():
                if (row := cursor.fetchone()) is not None:
                    firing_on[key] = row[0]
                    heads[row[0]] = appender.head_from(row[1:])
            decided: list[tuple[IncomingAlert, str, str | None, int | None]] = []
            batches: dict[str, list[Prepared]] = {}
            for alert, event, receipt_id in zip(checked, prepared, receipts.ids(), strict=True):
                if receipt_id is None:
                    decided.append((alert, "duplicate", None, None))
                    continue
                incident_id = None
                if alert.status == "resolved":
                    incident_id = firing_on.get((alert.fingerprint, alert.starts_at))
                if incident_id is None:
                    incident_id = open_on.get(alert.asset or NO_ASSET)
                if incident_id is None:
                    if alert.status == "firing":
                        return None  # an incident to open: rolled back, the other way decides
                    decided.append((alert, "kept", None, None))
                    continue
                batches.setdefault(incident_id, []).append(event)
                decided.append((alert, "appended", incident_id, receipt_id))
            linked = {
                incident_id: appender.link(incident_id, heads[incident_id], events)
                for incident_id, events in batches.items()
            }
            seqs = {
                incident_id: iter(item.seq for item in items)
                for incident_id, items in linked.items()
            }
            placed: list[Any] = []
            outcomes: list[AlertOutcome] = []
            for alert, outcome, incident_id, receipt_id in decided:
                seq = next(seqs[incident_id]) if incident_id is not None else None
                if receipt_id is not None:
                    placed += (receipt_id, incident_id, seq)
                outcomes.append(
                    AlertOutcome(
                        alert.fingerprint, alert.status, alert.alertname, outcome, incident_id, seq
                    )
                )
            writes: dict[str, Any] = {}
            with conn.pipeline():
                for incident_id, items in linked.items():
                    writes[incident_id] = conn.cursor()
                    appender.queue_locked(writes[incident_id], incident_id, items)
                if placed:
                    locks.execute(_PLACE_MANY_SQL.sql(len(placed) // 3), placed)
                locks.execute("COMMIT")
            for incident_id, cursor in writes.items():
                appender.written(cursor, incident_id, heads[incident_id], linked[incident_id])
            return outcomes

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


class _Receipts:
    """The receipts of a batch: the rows to insert (one per distinct key: a repeat within the
    batch is a duplicate like any other), the multi-row INSERTs that write them, and each
    alert's new receipt id (None: a repeat) from what their RETURNING gave back."""

    def __init__(self, alerts: list[IncomingAlert], now: datetime, backend: str) -> None:
        self._alerts = alerts
        self._postgres = postgres = backend == "postgresql"
        self._sql = _RECEIPT_SQL[backend]
        self._fresh: dict[tuple[str, str, datetime], int] = {}
        for index, alert in enumerate(alerts):
            self._fresh.setdefault(_key(alert), index)
        received = now if postgres else sqlite_time(as_utc(now))
        self._keys: dict[tuple[str, str, Any], tuple[str, str, datetime]] = {}
        self._rows: list[tuple[Any, ...]] = []
        for index, alert in enumerate(alerts):
            if self._fresh[_key(alert)] != index:
                continue
            starts: Any = alert.starts_at if postgres else sqlite_time(alert.starts_at)
            self._keys[(alert.fingerprint, alert.status, starts)] = _key(alert)
            self._rows.append(
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
        self._inserted: dict[tuple[str, str, datetime], int] = {}

    def statements(self) -> Iterator[tuple[str, list[Any]]]:
        """(SQL, parameters) per `_RECEIPT_CHUNK` rows."""
        rows = self._rows
        for first in range(0, len(rows), _RECEIPT_CHUNK):
            chunk = rows[first : first + _RECEIPT_CHUNK]
            yield self._sql.sql(len(chunk)), [value for row in chunk for value in row]

    def inserted(self, returned: Sequence[Sequence[Any]]) -> None:
        """One statement's RETURNING rows: (id, fingerprint, status, starts_at)."""
        postgres = self._postgres
        for receipt_id, fingerprint, status, starts in returned:
            key = (fingerprint, status, as_utc(starts) if postgres else starts)
            self._inserted[self._keys[key]] = int(receipt_id)

    def ids(self) -> list[int | None]:
        fresh, inserted = self._fresh, self._inserted
        return [
            inserted.get(_key(alert)) if fresh[_key(alert)] == index else None
            for index, alert in enumerate(self._alerts)
        ]


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
