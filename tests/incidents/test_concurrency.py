"""Many processes writing to one store at once: one gap-free, valid chain; distinct ids."""

from __future__ import annotations

import pytest

from incidents.store import Store
from tests.incidents import workers
from tests.incidents.processes import run_together

PROCESSES = 8
APPENDS = 200

pytestmark = pytest.mark.slow


def test_eight_processes_appending_to_one_incident_keep_one_valid_chain(database_url: str) -> None:
    with Store.open(database_url) as store:
        incident = store.open_incident("Partial loads", "resource:default/training-db", actor="ci")
    run_together(
        workers.append_notes,
        [(database_url, incident.id, f"writer-{w}", APPENDS) for w in range(PROCESSES)],
    )
    with Store.open(database_url) as store:
        events = store.events(incident.id)
        report = store.verify(incident.id)
        assert store.get_incident(incident.id).event_count == 1 + PROCESSES * APPENDS
    assert report.ok, report.reason
    assert report.count == len(events) == 1 + PROCESSES * APPENDS
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    for w in range(PROCESSES):
        mine = [e.data["n"] for e in events if e.actor == f"writer-{w}"]
        assert mine == list(range(APPENDS)), f"writer-{w}'s notes lost or out of order"


def test_processes_opening_incidents_at_once_get_distinct_gap_free_ids(database_url: str) -> None:
    run_together(workers.open_incidents, [(database_url, f"opener-{w}", 10) for w in range(4)])
    with Store.open(database_url) as store:
        ids = sorted(int(i.id.removeprefix("INC-")) for i in store.list_incidents())
    assert ids == list(range(1, 41))
