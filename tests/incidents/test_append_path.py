"""The append path of issue 16: batches, the driver-level writes, and the hashes they must keep
byte for byte (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from incidents.canonical import (
    as_utc,
    canonical_json,
    chain_hash,
    event_hash,
    iso_utc,
    normalise_data_text,
    sqlite_time,
    utc_texts,
)
from incidents.errors import IncidentNotFound, InvalidValue, StoreUnavailable
from incidents.records import NewEvent
from incidents.store import Store
from tests.incidents.helpers import ManualClock

ASSET = "resource:default/training-db"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    incident_id=st.text(min_size=1),
    seq=st.integers(min_value=1, max_value=2**40),
    at=st.datetimes(
        min_value=datetime(1, 1, 1), timezones=st.sampled_from([UTC, timezone(timedelta(hours=5))])
    ),
    actor=st.text(),
    kind=st.text(),
    message=st.text(),
    data=st.dictionaries(st.text(), json_values, max_size=4),
    prev_hash=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_the_fast_hash_is_the_event_hash_byte_for_byte(
    incident_id: str,
    seq: int,
    at: datetime,
    actor: str,
    kind: str,
    message: str,
    data: dict[str, object],
    prev_hash: str,
) -> None:
    clean, text_ = normalise_data_text(data)
    assert text_ == canonical_json(clean)
    read_back = json.loads(text_)
    assert clean == read_back and json.dumps(clean) == json.dumps(read_back)  # same key order
    fields = dict(incident_id=incident_id, seq=seq, at=at, actor=actor, kind=kind, message=message)
    assert chain_hash(**fields, data_text=text_, prev_hash=prev_hash) == event_hash(
        **fields, data=clean, prev_hash=prev_hash
    )


@settings(max_examples=300, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(1, 1, 1), timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))])
    )
)
def test_both_texts_of_a_time_are_the_slow_functions_texts(at: datetime) -> None:
    """The append path renders a time once for the hash and once for SQLite's column."""
    assert utc_texts(at) == (iso_utc(at), sqlite_time(as_utc(at)))


def test_data_copied_on_the_fast_way_is_a_copy() -> None:
    data = {"b": [1, {"c": 2.5}], "a": None}
    clean, text_ = normalise_data_text(data)
    data["b"][1]["c"] = 3  # type: ignore[index]
    assert clean == {"a": None, "b": [1, {"c": 2.5}]} and list(clean) == ["a", "b"]
    assert text_ == '{"a":null,"b":[1,{"c":2.5}]}'
    with pytest.raises(InvalidValue, match="not JSON"):
        normalise_data_text({"x": float("nan")})


def test_data_whose_keys_sort_differently_as_text_gets_the_canonical_text() -> None:
    clean, text_ = normalise_data_text({10: "ten", 9: "nine"})
    assert clean == {"10": "ten", "9": "nine"}
    assert text_ == '{"10":"ten","9":"nine"}' == canonical_json(clean)


def test_an_event_hash_written_before_issue_16_is_unchanged() -> None:
    """A golden value: the hash of this event as computed by main's canonical.py before issue 16."""
    assert (
        chain_hash(
            incident_id="INC-1",
            seq=2,
            at=datetime(2026, 11, 27, 3, 0, 0, 123456, tzinfo=UTC),
            actor="user:default/alice",
            kind="step_done",
            message='deleted 4 "partial" batches — é',
            data_text=canonical_json({"rows": 1234, "nested": {"z": [1, "é"], "a": None}}),
            prev_hash="0" * 64,
        )
        == event_hash(
            incident_id="INC-1",
            seq=2,
            at=datetime(2026, 11, 27, 3, 0, 0, 123456, tzinfo=UTC),
            actor="user:default/alice",
            kind="step_done",
            message='deleted 4 "partial" batches — é',
            data={"rows": 1234, "nested": {"z": [1, "é"], "a": None}},
            prev_hash="0" * 64,
        )
        == "36bd8d6480c6a87f7fd0fe154a047d10fb82b18a802acf8fb932e49856acb12e"
    )


def test_a_batch_is_appended_in_order_as_one_chain(store: Store, clock: ManualClock) -> None:
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    written = store.append_events(
        incident.id,
        [
            NewEvent("alert", f"alert {n}", "alertmanager", {"n": n, "labels": {"sev": "page"}})
            for n in range(5)
        ],
    )
    assert [e.seq for e in written] == [2, 3, 4, 5, 6]
    read = store.events(incident.id)
    assert read[1:] == written
    for before, after in itertools.pairwise(read):
        assert after.prev_hash == before.hash
    assert store.verify(incident.id).ok
    assert store.get_incident(incident.id).event_count == 6
    # and the single append goes on from the batch's head
    after = store.append_event(incident.id, "note", "after the burst", "bob")
    assert after.seq == 7 and after.prev_hash == written[-1].hash
    assert store.verify(incident.id).ok


def test_a_batch_with_one_bad_event_writes_nothing(store: Store, clock: ManualClock) -> None:
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    good = NewEvent("note", "fine", "bob")
    with pytest.raises(InvalidValue, match="unknown event kind"):
        store.append_events(incident.id, [good, NewEvent("nonsense", "x", "bob")])
    too_early = NewEvent("note", "before the opening", "bob", at=clock.now - timedelta(hours=1))
    with pytest.raises(InvalidValue, match="would precede the incident's opening"):
        store.append_events(incident.id, [good, too_early])
    assert [e.seq for e in store.events(incident.id)] == [1]
    assert store.verify(incident.id).ok


def test_a_batch_keeps_explicit_times_and_the_clock(store: Store, clock: ManualClock) -> None:
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    clock.advance(60)
    backdated = clock.now - timedelta(seconds=30)
    first, second = store.append_events(
        incident.id, [NewEvent("note", "then", "bob", at=backdated), NewEvent("note", "now", "bob")]
    )
    assert (first.at, second.at) == (backdated, clock.now)
    assert store.events(incident.id)[1:] == [first, second]


def test_appending_to_a_missing_incident_names_it(store: Store) -> None:
    with pytest.raises(IncidentNotFound):
        store.append_events("INC-404", [NewEvent("note", "x", "bob")])
    with pytest.raises(IncidentNotFound):
        store.append_event("INC-404", "note", "x", "bob")


def test_two_stores_taking_turns_on_one_incident_keep_one_chain(
    database_url: str, clock: ManualClock
) -> None:
    """Each store remembers the head it wrote last; when the other store has moved it, the
    append must notice and chain from the real head (the conditional move of the head on both
    backends: one statement on PostgreSQL, under the write lock on SQLite)."""
    with Store.open(database_url, clock=clock) as a, Store.open(database_url, clock=clock) as b:
        incident = a.open_incident("Partial loads", ASSET, actor="alice")
        for n in range(6):
            writer = a if n % 3 else b
            writer.append_event(incident.id, "note", f"note {n}", "bob", {"n": n})
            if n == 3:
                a.set_status(incident.id, "acknowledged", actor="alice")
            writer.append_events(incident.id, [NewEvent("note", f"pair {n}", "bob")] * 2)
        events = a.events(incident.id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert len(events) == 1 + 6 * 3 + 1
        assert a.verify(incident.id).ok and b.verify(incident.id).ok


def test_appends_from_threads_share_the_store(store: Store) -> None:
    """Each thread appends on a connection of its own; the chain stays one."""
    from concurrent.futures import ThreadPoolExecutor

    incident = store.open_incident("Partial loads", ASSET, actor="alice")

    def append(n: int) -> None:
        store.append_event(incident.id, "note", f"note {n}", "bob", {"n": n})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(append, range(40)))
    report = store.verify(incident.id)
    assert report.ok and report.count == 41


def test_a_postgres_connection_dropped_by_the_server_is_replaced(
    database_url: str, raw: Engine, clock: ManualClock
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a server dropping connections is PostgreSQL's case")
    with Store.open(database_url, clock=clock) as store:
        incident = store.open_incident("Partial loads", ASSET, actor="alice")
        store.append_event(incident.id, "note", "before", "bob")
        with raw.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        # without the idle ping, the append reports the dropped connection in one line ...
        with pytest.raises(StoreUnavailable):
            store.append_event(incident.id, "note", "lost", "bob")
        # ... and the next one opens a new connection
        store.append_event(incident.id, "note", "after", "bob")
        with raw.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        store._appender._connections.ping_after_idle = 0.0  # as after 10 s of quiet
        store.append_event(incident.id, "note", "after a restart", "bob")
        assert [e.message for e in store.events(incident.id)][1:] == [
            "before",
            "after",
            "after a restart",
        ]
        assert store.verify(incident.id).ok


def test_the_event_data_is_stored_as_its_canonical_text(store: Store, raw: Engine) -> None:
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    store.append_event(incident.id, "note", "x", "bob", {"b": [1, 2.5], "a": "é", "3": None})
    with raw.connect() as conn:
        stored = conn.execute(
            text("SELECT data FROM events WHERE incident_id = :i AND seq = 2"), {"i": incident.id}
        ).scalar_one()
    assert stored == '{"3":null,"a":"é","b":[1,2.5]}'
    assert json.loads(stored) == store.events(incident.id)[1].data


@settings(max_examples=100, deadline=None)
@given(
    os_user=st.text(),
    host=st.text(),
    impersonated=st.booleans(),
    message=st.text(),
    data=st.dictionaries(st.text(), json_values, max_size=3),
)
def test_the_fast_hash_with_an_origin_is_the_event_hash_byte_for_byte(
    os_user: str, host: str, impersonated: bool, message: str, data: dict[str, object]
) -> None:
    from incidents.canonical import Origin

    clean, text_ = normalise_data_text(data)
    origin = Origin(os_user, host, impersonated)
    fields = dict(
        incident_id="INC-1",
        seq=3,
        at=datetime(2026, 12, 3, 15, 0, tzinfo=UTC),
        actor="user:default/bob",
        kind="note",
        message=message,
        prev_hash="a" * 64,
    )
    fast = chain_hash(**fields, data_text=text_, origin=origin)
    assert fast == event_hash(**fields, data=clean, origin=origin)
    assert fast != event_hash(**fields, data=clean)  # who wrote it is covered by the hash


def test_a_batch_larger_than_one_insert_statement_is_one_chain(store: Store) -> None:
    """Several events go in multi-row INSERTs of at most 500 rows (SQLite's parameter limit)."""
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    written = store.append_events(
        incident.id, [NewEvent("note", f"note {n}", "bob", {"n": n}) for n in range(1201)]
    )
    assert [e.seq for e in written] == list(range(2, 1203))
    assert [e.data["n"] for e in written] == list(range(1201))
    events = store.events(incident.id)
    assert [e.id for e in events[1:]] == [e.id for e in written]
    assert store.verify(incident.id).ok


def test_closing_the_store_leaves_a_connection_in_use_to_its_append(database_url: str) -> None:
    """The app closes its store as it exits while a worker may still be appending: closing a
    sqlite3 connection under another thread's statement crashes the process, so a connection
    in use is closed when its append puts it back, and the append finishes."""
    store = Store.open(database_url)
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    store.append_event(incident.id, "note", "before", "bob")
    connections = store._appender._connections
    in_use = connections.get()  # as a worker thread between taking it and putting it back
    store.close()
    cursor = in_use.cursor()
    cursor.execute("SELECT count(*) FROM events")  # still open: the worker's append goes on
    assert cursor.fetchone()[0] == 2
    cursor.close()
    connections.put(in_use)
    assert in_use.closed if database_url.startswith("postgresql") else _is_closed(in_use)


def _is_closed(connection: Any) -> bool:
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False
