"""Runbook runs as the engine records them, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from incidents.errors import IncidentNotFound, InvalidValue, RunNotFound
from incidents.store import Store
from tests.incidents.helpers import ManualClock

SHA = "c" * 64


@pytest.fixture
def incident_id(store: Store) -> str:
    return store.open_incident("Partial loads", "resource:default/training-db", actor="alice").id


def test_a_run_is_recorded_running_with_what_it_was_started_with(
    store: Store, incident_id: str, clock: ManualClock
) -> None:
    run = store.create_run(
        incident_id, "training-store-partial-load", 3, SHA, {"since": "2026-11-21"}, "alice"
    )
    assert run.id == "RUN-1"
    assert store.get_run("run-1") == run
    assert (run.incident_id, run.runbook_id, run.version, run.sha256, run.params) == (
        incident_id,
        "training-store-partial-load",
        3,
        SHA,
        {"since": "2026-11-21"},
    )
    assert (run.operator, run.dry_run, run.status, run.started_at, run.finished_at) == (
        "alice",
        False,
        "running",
        clock.now,
        None,
    )


def test_a_dry_run_needs_no_incident(store: Store) -> None:
    run = store.create_run(None, "pause-pipeline", 1, SHA, {}, "bob", dry_run=True)
    assert (run.incident_id, run.dry_run) == (None, True)


def test_a_run_for_an_unknown_incident_is_refused(store: Store) -> None:
    with pytest.raises(IncidentNotFound):
        store.create_run("INC-9", "pause-pipeline", 1, SHA, {}, "bob")


def test_runs_are_listed_oldest_first_and_by_incident(store: Store, incident_id: str) -> None:
    store.create_run(incident_id, "a", 1, SHA, {}, "alice")
    store.create_run(None, "b", 1, SHA, {}, "alice", dry_run=True)
    store.create_run(incident_id, "c", 1, SHA, {}, "alice")
    assert [r.runbook_id for r in store.list_runs()] == ["a", "b", "c"]
    assert [r.id for r in store.list_runs(incident_id=incident_id)] == ["RUN-1", "RUN-3"]


def test_a_run_moves_between_statuses_and_finishing_stamps_the_time(
    store: Store, incident_id: str, clock: ManualClock
) -> None:
    run = store.create_run(incident_id, "a", 1, SHA, {}, "alice")
    interrupted_at = clock.advance(60)
    assert store.set_run_status(run.id, "interrupted").finished_at == interrupted_at
    resumed = store.set_run_status(run.id, "running")
    assert (resumed.status, resumed.finished_at) == ("running", None)
    done_at = clock.advance(60)
    done = store.set_run_status(run.id, "done")
    assert (done.status, done.finished_at, done.updated_at) == ("done", done_at, done_at)
    assert store.set_run_status(run.id, "done") == done
    with pytest.raises(InvalidValue, match="RUN-1 is done"):
        store.set_run_status(run.id, "running")


def test_an_unknown_run_or_status_is_refused(store: Store, incident_id: str) -> None:
    with pytest.raises(RunNotFound, match="no run RUN-7"):
        store.get_run("RUN-7")
    with pytest.raises(RunNotFound):
        store.set_run_status("RUN-7", "done")
    run = store.create_run(incident_id, "a", 1, SHA, {}, "alice")
    with pytest.raises(InvalidValue, match="unknown run status 'paused'"):
        store.set_run_status(run.id, "paused")
