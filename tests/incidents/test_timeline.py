"""The append-only, hash-chained timeline and `verify`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from incidents.canonical import GENESIS_HASH, event_hash
from incidents.errors import InvalidValue
from incidents.store import Store
from tests.incidents.helpers import ManualClock

ASSET = "resource:default/training-db"


@pytest.fixture
def incident_with_notes(store: Store, clock: ManualClock) -> str:
    """INC-1 with 6 events: the opening and five notes, 10 s apart."""
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    for n in range(5):
        clock.advance(10)
        store.append_event(incident.id, "note", f"note {n}", "bob", {"n": n})
    return incident.id


def _allow_tampering(raw: Engine) -> None:
    """Switch off the append-only triggers, as an attacker with database access could."""
    with raw.connect() as conn:
        if raw.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER events_append_only_update"))
            conn.execute(text("DROP TRIGGER events_append_only_delete"))


def _sql(raw: Engine, statement: str, **params: object) -> None:
    with raw.connect() as conn:
        conn.execute(text(statement), params)


def _event_id(raw: Engine, seq: int) -> int:
    with raw.connect() as conn:
        return int(
            conn.execute(
                text("SELECT id FROM events WHERE incident_id = 'INC-1' AND seq = :seq"),
                {"seq": seq},
            ).scalar_one()
        )


def test_events_are_chained_each_to_the_one_before(store: Store, incident_with_notes: str) -> None:
    events = store.events(incident_with_notes)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash


def test_an_event_reads_back_exactly_as_it_was_hashed(store: Store, clock: ManualClock) -> None:
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    written = store.append_event(
        incident.id,
        "step_done",
        "deleted 4 partial batches",
        "user:default/alice",
        {"rows": 1234, "ratio": 0.1, "nested": {"z": [1, "é"], "a": None}, "ok": True},
    )
    [_, read] = store.events(incident.id)
    assert read == written
    assert read.at == clock.now and read.at.tzinfo is not None
    assert read.hash == event_hash(
        incident_id=incident.id,
        seq=2,
        at=clock.now,
        actor=read.actor,
        kind=read.kind,
        message=read.message,
        data=read.data,
        prev_hash=read.prev_hash,
        origin=read.origin,
    )
    assert read.origin is not None and read.origin == store.origin  # who was at the keyboard


def test_events_after_a_seq_are_the_newer_ones_only(store: Store, incident_with_notes: str) -> None:
    assert [e.seq for e in store.events(incident_with_notes, after_seq=4)] == [5, 6]


def test_an_unknown_kind_or_empty_message_is_refused(
    store: Store, incident_with_notes: str
) -> None:
    with pytest.raises(InvalidValue, match="unknown event kind"):
        store.append_event(incident_with_notes, "gossip", "hi", "bob")
    with pytest.raises(InvalidValue, match="message must not be empty"):
        store.append_event(incident_with_notes, "note", "   ", "bob")
    assert len(store.events(incident_with_notes)) == 6


def test_an_intact_timeline_verifies(store: Store, incident_with_notes: str) -> None:
    report = store.verify(incident_with_notes)
    assert (report.ok, report.count, report.first_bad, report.reason) == (True, 6, None, None)


def test_the_database_refuses_to_update_or_delete_an_event(
    store: Store, incident_with_notes: str, raw: Engine
) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        _sql(raw, "UPDATE events SET message = 'nothing happened' WHERE seq = 3")
    with pytest.raises(DBAPIError, match="append-only"):
        _sql(raw, "DELETE FROM events WHERE seq = 3")
    assert store.verify(incident_with_notes).ok


def test_verify_names_an_event_whose_contents_were_edited(
    store: Store, incident_with_notes: str, raw: Engine
) -> None:
    _allow_tampering(raw)
    _sql(raw, "UPDATE events SET message = 'nothing happened' WHERE seq = 3")
    report = store.verify(incident_with_notes)
    assert (report.ok, report.first_bad, report.first_bad_id) == (False, 3, _event_id(raw, 3))
    assert "do not match its hash" in (report.reason or "")


def test_verify_names_an_event_whose_time_or_actor_was_edited(
    store: Store, incident_with_notes: str, raw: Engine
) -> None:
    _allow_tampering(raw)
    _sql(raw, "UPDATE events SET actor = 'mallory' WHERE seq = 5")
    assert store.verify(incident_with_notes).first_bad == 5


def test_verify_catches_an_edit_whose_hash_was_recomputed_at_the_next_link(
    store: Store, incident_with_notes: str, raw: Engine
) -> None:
    _allow_tampering(raw)
    [_, _, original, *_] = store.events(incident_with_notes)
    forged = event_hash(
        incident_id=original.incident_id,
        seq=original.seq,
        at=original.at,
        actor=original.actor,
        kind=original.kind,
        message="nothing happened",
        data=original.data,
        prev_hash=original.prev_hash,
        origin=original.origin,
    )
    _sql(
        raw,
        "UPDATE events SET message = 'nothing happened', hash = :h WHERE seq = 3",
        h=forged,
    )
    report = store.verify(incident_with_notes)
    assert (report.ok, report.first_bad) == (False, 4)
    assert "prev_hash does not match #3" in (report.reason or "")


def test_verify_names_the_event_after_a_deleted_one(
    store: Store, incident_with_notes: str, raw: Engine
) -> None:
    _allow_tampering(raw)
    _sql(raw, "DELETE FROM events WHERE seq = 4")
    report = store.verify(incident_with_notes)
    assert (report.ok, report.first_bad) == (False, 5)
    assert "#4 is missing" in (report.reason or "")


def test_verify_notices_events_deleted_from_the_end(
    store: Store, incident_with_notes: str, raw: Engine
) -> None:
    _allow_tampering(raw)
    _sql(raw, "DELETE FROM events WHERE seq >= 5")
    report = store.verify(incident_with_notes)
    assert (report.ok, report.count, report.first_bad, report.first_bad_id) == (False, 4, 5, None)
    assert "#5-#6 were deleted" in (report.reason or "")


def test_event_data_that_is_not_json_any_more_is_reported_not_crashed_on(
    store: Store, incident_with_notes: str, raw: Engine
) -> None:
    _allow_tampering(raw)
    _sql(raw, "UPDATE events SET data = '{broken' WHERE seq = 2")
    report = store.verify(incident_with_notes)
    assert (report.first_bad, report.reason) == (2, "its data is not valid JSON: it was altered")


def test_times_keep_their_microseconds_on_both_backends(store: Store, clock: ManualClock) -> None:
    clock.now = datetime(2026, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    assert store.events(incident.id)[0].at == datetime(2026, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert store.verify(incident.id).ok
