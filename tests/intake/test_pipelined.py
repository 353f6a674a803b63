"""The alert intake's two-round-trip way on PostgreSQL (`AlertsMixin._record_pipelined`) and the
pipelined locked append: the round trips counted off the wire, and the safety properties kept
(dedupe exactly once under concurrency, one verifiable chain per incident, nothing half-written
when a statement of the write step fails)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy import exc as sa_exc

from incidents.alerts import AlertOutcome, IncomingAlert
from incidents.errors import StoreUnavailable
from incidents.store import Store

pytestmark = pytest.mark.postgres

STARTS = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
TRAINING = "resource:default/training-db"
OPS = "resource:default/ops-db"


def incoming(
    fingerprint: str, asset: str | None = TRAINING, status: str = "firing", summary: str = "x"
) -> IncomingAlert:
    return IncomingAlert(
        fingerprint=fingerprint,
        status=status,
        starts_at=STARTS,
        alertname="BenchAlert",
        asset=asset,
        title=summary,
        severity="SEV3",
        message=f"{status}: BenchAlert: {summary}",
        data={"fingerprint": fingerprint, "status": status},
    )


def record(store: Store, *alerts: IncomingAlert) -> list[AlertOutcome]:
    return store.record_alerts(list(alerts), actor="alertmanager")


class Wire:
    """Every psycopg connection a store opens, traced by libpq while `counting`: a round trip
    is one wait for the server, i.e. one `Sync` (extended protocol, pipelined or not) or one
    simple `Query` sent."""

    def __init__(self, store: Store, trace: Path) -> None:
        self.connections: list[Any] = []
        self.trace = trace
        event.listen(store.engine, "connect", lambda conn, _record: self.connections.append(conn))
        store.engine.dispose()  # every connection from now on is seen

    @property
    def _open(self) -> list[Any]:
        return [conn for conn in self.connections if not conn.closed]

    def count(self, work: Any) -> int:
        with self.trace.open("w") as out:
            for conn in self._open:
                conn.pgconn.trace(out.fileno())
                conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
            try:
                work()
            finally:
                for conn in self._open:
                    conn.pgconn.untrace()  # flushes libpq's buffer
        sent = [line.split("\t") for line in self.trace.read_text().splitlines()]
        return sum(1 for p in sent if len(p) > 2 and p[0] == "F" and p[2] in ("Sync", "Query"))


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    with Store.open(postgres_url) as opened:
        yield opened


def test_a_batch_for_an_open_incident_costs_two_round_trips(store: Store, tmp_path: Path) -> None:
    wire = Wire(store, tmp_path / "trace.log")
    record(store, *(incoming(f"warm-{n}") for n in range(20)))  # opens INC-1
    record(store, *(incoming(f"warm2-{n}") for n in range(20)))  # the connection is made
    batch = [incoming(f"a-{n}") for n in range(20)]
    outcomes: list[AlertOutcome] = []
    assert wire.count(lambda: outcomes.extend(record(store, *batch))) == 2
    assert {o.outcome for o in outcomes} == {"appended"}
    assert wire.count(lambda: record(store, *batch)) == 2  # all repeats
    assert store.verify("INC-1").ok and store.verify("INC-1").count == 61


def test_a_locked_append_costs_two_round_trips(store: Store, tmp_path: Path) -> None:
    wire = Wire(store, tmp_path / "trace.log")
    incident = store.open_incident("one", TRAINING, actor="ana")
    with Store.open(store.engine.url.render_as_string(hide_password=False)) as other:
        other.append_event(incident.id, "note", "moves the head", "bob")
    store.append_event(incident.id, "note", "makes the connection", "ana")
    with Store.open(store.engine.url.render_as_string(hide_password=False)) as other:
        other.append_event(incident.id, "note", "moves the head again", "bob")
    # this store's head is stale: the one-statement way finds it moved (1), the locked way (2)
    assert wire.count(lambda: store.append_event(incident.id, "note", "after", "ana")) == 3
    assert wire.count(lambda: store.append_event(incident.id, "note", "known head", "ana")) == 1
    assert store.verify(incident.id).ok and store.verify(incident.id).count == 6


def test_stores_recording_the_same_alerts_at_once_record_each_exactly_once(
    postgres_url: str,
) -> None:
    with Store.open(postgres_url) as first:
        record(first, incoming("seed"))  # INC-1 on training-db: the pipelined way from now on
    stores = [Store.open(postgres_url) for _ in range(4)]
    rounds, errors = 15, []
    outcomes: list[AlertOutcome] = []
    lock = threading.Lock()

    def send(store: Store, gate: threading.Barrier, round_: int, mine: int) -> None:
        shared = [incoming(f"same-{round_}-{n}") for n in range(5)]
        shared.append(incoming(f"new-asset-{round_}", asset=OPS))  # opened by one of them
        own = [incoming(f"own-{round_}-{mine}")]
        gate.wait()
        try:
            got = record(store, *(shared + own if mine % 2 else own + shared))
        except Exception as exc:  # reported below; a thread must not swallow it
            errors.append(exc)
            return
        with lock:
            outcomes.extend(got)

    try:
        for round_ in range(rounds):
            gate = threading.Barrier(len(stores))
            threads = [
                threading.Thread(target=send, args=(s, gate, round_, i))
                for i, s in enumerate(stores)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        for opened in stores:
            opened.close()
    assert errors == []
    recorded = [o for o in outcomes if o.outcome != "duplicate"]
    fingerprints = [o.fingerprint for o in recorded]
    assert len(fingerprints) == len(set(fingerprints)) == rounds * (5 + 1 + len(stores))
    with Store.open(postgres_url) as check:
        incidents = check.list_incidents(include_closed=True)
        assert sorted(i.asset for i in incidents) == [OPS, TRAINING]  # one incident per asset
        on_timelines: list[str] = []
        for incident in incidents:
            report = check.verify(incident.id)
            assert report.ok, report.reason
            events = check.events(incident.id)
            on_timelines += [e.data["fingerprint"] for e in events if e.kind == "alert"]
            for receipt in check.alert_receipts():
                if receipt["incident_id"] == incident.id:
                    placed = events[receipt["event_seq"] - 1]
                    assert placed.data["fingerprint"] == receipt["fingerprint"]
        receipts = check.alert_receipts()
    assert sorted(on_timelines) == sorted([*fingerprints, "seed"])
    assert len(receipts) == len(fingerprints) + 1


def test_a_statement_failing_in_the_write_step_leaves_nothing_written(
    store: Store, postgres_url: str
) -> None:
    record(store, incoming("first"))
    record(store, incoming("second"))
    before = store.events("INC-1")
    engine = create_engine(postgres_url)
    with engine.begin() as conn:  # a server-side failure in the events INSERT of round trip 2
        conn.execute(
            text(
                "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                "IF NEW.message LIKE '%poison%' THEN RAISE EXCEPTION 'poisoned event'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER events_poison BEFORE INSERT ON events "
                "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
            )
        )
    engine.dispose()
    with pytest.raises(sa_exc.DBAPIError):
        record(store, incoming("good-1"), incoming("bad", summary="poison"), incoming("good-2"))
    assert store.events("INC-1") == before and store.get_incident("INC-1").event_count == 3
    assert {r["fingerprint"] for r in store.alert_receipts()} == {"first", "second"}
    # the same store and connection go on: the next batch is recorded, the chain verifies
    assert [o.outcome for o in record(store, incoming("good-1"))] == ["appended"]
    assert store.verify("INC-1").ok and store.verify("INC-1").count == 4


def test_a_batch_spanning_two_incidents_writes_both_chains_in_one_transaction(
    store: Store,
) -> None:
    record(store, incoming("a"))
    store.set_status("INC-1", "resolved", actor="ana")
    record(store, IncomingAlert(**{**_fields(incoming("b")), "starts_at": STARTS.replace(hour=5)}))
    assert [i.id for i in store.list_incidents()] == ["INC-2"]
    with Store.open(store.engine.url.render_as_string(hide_password=False)) as other:
        other.append_event("INC-2", "note", "someone else's note moves the head", "bob")
    outcomes = record(store, incoming("a", status="resolved"), incoming("c"), incoming("a"))
    assert [(o.outcome, o.incident_id, o.seq) for o in outcomes] == [
        ("appended", "INC-1", 4),  # the resolution goes to its firing's (closed) incident
        ("appended", "INC-2", 4),
        ("duplicate", None, None),
    ]
    for incident_id in ("INC-1", "INC-2"):
        assert store.verify(incident_id).ok
    receipts = {(r["fingerprint"], r["status"]): r for r in store.alert_receipts()}
    assert (
        receipts[("a", "resolved")]["incident_id"],
        receipts[("a", "resolved")]["event_seq"],
    ) == (
        "INC-1",
        4,
    )
    assert store.get_incident("INC-1").status == "resolved"  # a resolved alert closes nothing


def _fields(alert: IncomingAlert) -> dict[str, Any]:
    return {name: getattr(alert, name) for name in IncomingAlert.__slots__}


def test_writes_from_many_threads_one_at_a_time_share_one_connection(
    store: Store, postgres_url: str
) -> None:
    """`oncall serve` writes from a pool of worker threads, one writer at a time: the store must
    hold the connections that write at once, not one per thread that ever wrote."""
    incident = store.open_incident("threads", TRAINING, actor="ana")
    engine = create_engine(postgres_url)

    def backends() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )

    try:
        before = backends()
        for n in range(12):
            thread = threading.Thread(
                target=lambda n=n: (
                    record(store, incoming(f"t-{n}")),
                    store.append_event(incident.id, "note", f"note {n}", "ana"),
                )
            )
            thread.start()
            thread.join()
        assert backends() - before <= 1
    finally:
        engine.dispose()
    assert store.verify(incident.id).ok and store.verify(incident.id).count == 25


def test_a_database_gone_is_store_unavailable_for_a_new_connection_too(
    store: Store, postgres_url: str
) -> None:
    """The broken connection fails in one line (StoreUnavailable); so does the next write,
    which must make a new connection to a database that no longer exists (it used to escape
    as the driver's own error: a 500 from `oncall serve` instead of 503)."""
    incident = store.open_incident("gone", TRAINING, actor="ana")
    store.append_event(incident.id, "note", "before", "ana")
    record(store, incoming("before"))
    engine = create_engine(
        postgres_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
    )
    name = postgres_url.rsplit("/", 1)[1]
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()
    for _ in range(2):  # the dropped connection, then a new one that cannot be made
        with pytest.raises(StoreUnavailable):
            store.append_event(incident.id, "note", "after", "ana")
        with pytest.raises(StoreUnavailable):
            record(store, incoming("after"))
