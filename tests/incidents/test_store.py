"""Incidents and their lifecycle, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents.errors import IllegalTransition, IncidentNotFound, InvalidValue
from incidents.store import Store
from tests.incidents.helpers import ManualClock

ASSET = "resource:default/training-db"


def test_incidents_get_short_sequential_ids(store: Store) -> None:
    first = store.open_incident("Partial loads", ASSET, actor="alice")
    second = store.open_incident("Feature store stale", "resource:default/features", actor="bob")
    assert (first.id, second.id) == ("INC-1", "INC-2")


def test_an_opened_incident_keeps_what_it_was_opened_with(store: Store, clock: ManualClock) -> None:
    incident = store.open_incident(
        "  Partial loads  ", ASSET, "sev1", actor="alice", commander="user:default/alice"
    )
    again = store.get_incident("inc-1")
    assert again == incident
    assert (again.title, again.severity, again.status, again.asset, again.commander) == (
        "Partial loads",
        "SEV1",
        "open",
        ASSET,
        "user:default/alice",
    )
    assert again.opened_at == clock.now
    assert (again.acknowledged_at, again.mitigated_at, again.resolved_at) == (None, None, None)


def test_opening_an_incident_writes_an_opened_status_event(store: Store) -> None:
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    [event] = store.events(incident.id)
    assert (event.seq, event.kind, event.actor) == (1, "status", "alice")
    assert event.data == {
        "to": "open",
        "title": "Partial loads",
        "severity": "SEV2",
        "asset": ASSET,
        "commander": None,
    }


def test_each_status_change_stamps_its_time_and_goes_on_the_timeline(
    store: Store, clock: ManualClock
) -> None:
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    acked_at = clock.advance(120)
    store.set_status(incident.id, "acknowledged", actor="bob")
    mitigated_at = clock.advance(600)
    store.set_status(incident.id, "mitigated", actor="bob")
    resolved_at = clock.advance(3600)
    done = store.set_status(incident.id, "resolved", actor="carol")
    assert (done.acknowledged_at, done.mitigated_at, done.resolved_at) == (
        acked_at,
        mitigated_at,
        resolved_at,
    )
    statuses = [(e.actor, e.data["from"], e.data["to"]) for e in store.events(incident.id)[1:]]
    assert statuses == [
        ("bob", "open", "acknowledged"),
        ("bob", "acknowledged", "mitigated"),
        ("carol", "mitigated", "resolved"),
    ]


def test_skipping_ahead_stamps_the_skipped_stages_with_the_same_moment(
    store: Store, clock: ManualClock
) -> None:
    incident = store.open_incident("False alarm", ASSET, actor="alice")
    clock.advance(30)
    closed = store.set_status(incident.id, "resolved", actor="alice")
    assert closed.acknowledged_at == closed.mitigated_at == closed.resolved_at == clock.now
    last = store.events(incident.id)[-1]
    assert last.data == {
        "from": "open",
        "to": "resolved",
        "implied": ["acknowledged", "mitigated"],
        "commander": "alice",  # acknowledged on the way: the first to acknowledge commands
    }


@pytest.mark.parametrize(
    ("first", "then"), [("mitigated", "acknowledged"), ("acknowledged", "acknowledged")]
)
def test_a_backwards_or_repeated_status_change_is_refused_and_writes_nothing(
    store: Store, first: str, then: str
) -> None:
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    store.set_status(incident.id, first, actor="alice")
    before = store.events(incident.id)
    with pytest.raises(IllegalTransition):
        store.set_status(incident.id, then, actor="alice")
    assert store.events(incident.id) == before
    assert store.get_incident(incident.id).status == first


def test_listing_shows_open_incidents_newest_first_and_resolved_ones_on_request(
    store: Store,
) -> None:
    for title in ("one", "two", "three"):
        store.open_incident(title, ASSET, actor="alice")
    store.set_status("INC-2", "resolved", actor="alice")
    assert [i.id for i in store.list_incidents()] == ["INC-3", "INC-1"]
    assert [i.id for i in store.list_incidents(include_closed=True)] == ["INC-3", "INC-2", "INC-1"]


def test_an_unknown_incident_is_named_in_the_error(store: Store) -> None:
    with pytest.raises(IncidentNotFound, match="no incident INC-42"):
        store.get_incident("42")
    with pytest.raises(IncidentNotFound):
        store.append_event("INC-42", "note", "hello", "alice")
    with pytest.raises(IncidentNotFound):
        store.set_status("INC-42", "acknowledged", actor="alice")


@pytest.mark.parametrize(
    ("title", "asset", "severity", "message"),
    [
        ("", ASSET, "SEV2", "title must not be empty"),
        ("Partial loads", " ", "SEV2", "asset must not be empty"),
        ("Partial loads", ASSET, "SEV9", "unknown severity"),
    ],
)
def test_bad_incident_fields_are_refused_before_anything_is_written(
    store: Store, title: str, asset: str, severity: str, message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        store.open_incident(title, asset, severity, actor="alice")
    assert store.list_incidents(include_closed=True) == []
    # The refused attempt used no id: the next incident is still INC-1.
    assert store.open_incident("ok", ASSET, actor="alice").id == "INC-1"


def test_an_incident_can_be_opened_in_the_past_for_imports(
    store: Store, clock: ManualClock
) -> None:
    earlier = clock.now - timedelta(hours=50)
    incident = store.open_incident("Weekend", ASSET, actor="alice", at=earlier)
    assert incident.opened_at == earlier
    with pytest.raises(InvalidValue, match="precede the incident's opening"):
        store.append_event(incident.id, "note", "too early", "alice", at=earlier - timedelta(1))


def test_the_first_to_acknowledge_becomes_commander_unless_one_is_set(store: Store) -> None:
    first = store.open_incident("Partial loads", ASSET, actor="alice")
    acked = store.set_status(first.id, "acknowledged", actor="bob")
    assert acked.commander == "bob"
    event = store.events(first.id)[-1]
    assert event.message == "open → acknowledged; bob takes command"
    assert event.data["commander"] == "bob"
    assert store.set_status(first.id, "mitigated", actor="carol").commander == "bob"
    second = store.open_incident("Feed stale", ASSET, actor="alice", commander="dana")
    assert store.set_status(second.id, "acknowledged", actor="bob").commander == "dana"
    assert "takes command" not in store.events(second.id)[-1].message
    # Skipping straight to mitigated acknowledges too, and so takes command.
    third = store.open_incident("Disk full", ASSET, actor="alice")
    assert store.set_status(third.id, "mitigated", actor="erin").commander == "erin"


def test_taking_command_names_the_previous_commander_on_the_timeline(store: Store) -> None:
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    store.set_status(incident.id, "acknowledged", actor="bob")
    taken = store.take_command(incident.id, actor="carol")
    assert taken.commander == "carol"
    event = store.events(incident.id)[-1]
    assert (event.kind, event.message, event.actor) == (
        "decision",
        "carol takes command from bob",
        "carol",
    )
    before = len(store.events(incident.id))
    assert store.take_command(incident.id, actor="carol").commander == "carol"
    assert len(store.events(incident.id)) == before  # already in command: nothing recorded
    store.set_status(incident.id, "resolved", actor="carol")
    with pytest.raises(InvalidValue, match="resolved"):
        store.take_command(incident.id, actor="dana")
    assert store.verify(incident.id).ok
