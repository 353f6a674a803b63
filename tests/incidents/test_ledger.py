"""The step ledger's unique keys and exactly-once bookkeeping, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.errors import InvalidValue, LedgerConflict, RunNotFound
from incidents.store import Store
from tests.incidents.helpers import ManualClock

KEY = "9f" * 32
RENDERED = {
    "type": "sql",
    "statement": "DELETE FROM samples WHERE load_id = :id",
    "params": {"id": 4},
}


@pytest.fixture
def run_id(store: Store) -> str:
    incident = store.open_incident("Partial loads", "resource:default/training-db", actor="alice")
    return store.create_run(incident.id, "partial-load", 3, "c" * 64, {}, "alice").id


def test_an_intent_is_recorded_as_started_and_in_doubt_until_finished(
    store: Store, run_id: str, clock: ManualClock
) -> None:
    entry = store.ledger_intent(KEY, run_id, "INC-1", "delete-partial", RENDERED)
    assert (entry.key, entry.run_id, entry.incident_id, entry.step_id, entry.status) == (
        KEY,
        run_id,
        "INC-1",
        "delete-partial",
        "started",
    )
    assert (entry.rendered, entry.output, entry.effect_count, entry.started_at) == (
        RENDERED,
        None,
        0,
        clock.now,
    )
    assert entry.in_doubt
    assert store.ledger_get(KEY) == entry


def test_a_second_intent_for_the_same_key_returns_the_first_unchanged(
    store: Store, run_id: str
) -> None:
    first = store.ledger_intent(KEY, run_id, "INC-1", "delete-partial", RENDERED)
    second_run = store.create_run("INC-1", "partial-load", 3, "c" * 64, {}, "bob").id
    again = store.ledger_intent(KEY, second_run, "INC-1", "other-step", {"other": True})
    assert again == first
    done = store.ledger_done(KEY, {"rows": 1234})
    assert store.ledger_intent(KEY, second_run, "INC-1", "delete-partial", RENDERED) == done


def test_a_done_step_keeps_its_output_and_cannot_be_done_twice(
    store: Store, run_id: str, clock: ManualClock
) -> None:
    store.ledger_intent(KEY, run_id, "INC-1", "delete-partial", RENDERED)
    finished_at = clock.advance(5)
    done = store.ledger_done(KEY, {"rows": 1234})
    assert (done.status, done.output, done.effect_count, done.finished_at) == (
        "done",
        {"rows": 1234},
        1,
        finished_at,
    )
    assert not done.in_doubt
    with pytest.raises(LedgerConflict, match=r"delete-partial .* is done"):
        store.ledger_done(KEY, {"rows": 0})
    with pytest.raises(LedgerConflict, match="is done"):
        store.ledger_failed(KEY, "late failure")
    assert store.ledger_get(KEY) == done


def test_a_check_that_found_the_state_already_there_records_no_effect(
    store: Store, run_id: str
) -> None:
    store.ledger_intent(KEY, run_id, "INC-1", "pause-etl", RENDERED)
    assert store.ledger_done(KEY, {"check": "already paused"}, effect_count=0).effect_count == 0


def test_a_failed_step_can_be_restarted_and_then_done(store: Store, run_id: str) -> None:
    store.ledger_intent(KEY, run_id, "INC-1", "delete-partial", RENDERED)
    failed = store.ledger_failed(KEY, "connection reset")
    assert (failed.status, failed.error) == ("failed", "connection reset")
    restarted = store.ledger_restart(KEY, run_id)
    assert (restarted.status, restarted.error, restarted.finished_at) == ("started", None, None)
    assert store.ledger_done(KEY, {"rows": 3}).status == "done"


def test_only_a_failed_step_can_be_restarted(store: Store, run_id: str) -> None:
    with pytest.raises(LedgerConflict, match="no intent recorded"):
        store.ledger_restart(KEY, run_id)
    store.ledger_intent(KEY, run_id, "INC-1", "delete-partial", RENDERED)
    with pytest.raises(LedgerConflict, match="is started"):
        store.ledger_restart(KEY, run_id)


def test_finishing_a_key_without_an_intent_is_refused(store: Store) -> None:
    with pytest.raises(LedgerConflict, match="no intent recorded"):
        store.ledger_done(KEY, {})
    assert store.ledger_get(KEY) is None


def test_an_intent_for_an_unknown_run_or_with_a_bad_key_is_refused(
    store: Store, run_id: str
) -> None:
    with pytest.raises(RunNotFound):
        store.ledger_intent(KEY, "RUN-99", None, "s", {})
    with pytest.raises(InvalidValue, match="ledger key"):
        store.ledger_intent("", run_id, None, "s", {})


def test_a_runs_entries_are_listed_in_the_order_they_started(
    store: Store, run_id: str, clock: ManualClock
) -> None:
    for step in ("pause-etl", "delete-partial", "resume-etl"):
        clock.advance(1)
        store.ledger_intent(f"key-{step}", run_id, "INC-1", step, {"step": step})
    assert [e.step_id for e in store.ledger_for_run(run_id)] == [
        "pause-etl",
        "delete-partial",
        "resume-etl",
    ]


def test_racing_intents_for_one_key_leave_exactly_one_row_that_all_of_them_see(
    store: Store, run_id: str
) -> None:
    barrier = threading.Barrier(6)
    seen: list[tuple[str, str]] = []

    def write_intent(n: int) -> None:
        barrier.wait()
        entry = store.ledger_intent(KEY, run_id, "INC-1", f"step-{n}", {"n": n})
        seen.append((entry.step_id, entry.status))

    threads = [threading.Thread(target=write_intent, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 6 and len(set(seen)) == 1
    assert store.ledger_for_run(run_id)[0].step_id == seen[0][0]


_steps = st.lists(
    st.tuples(st.sampled_from(["k1", "k2", "k3"]), st.sampled_from(["intent", "done", "fail"])),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=_steps)
def test_no_sequence_of_ledger_calls_ever_records_a_step_done_twice(
    sqlite_url: str, operations: list[tuple[str, str]]
) -> None:
    with Store.open(sqlite_url) as store:
        if not store.list_runs():
            store.create_run(None, "rb", 1, "c" * 64, {}, "alice", dry_run=True)
        prefix = f"{len(store.ledger_for_run('RUN-1'))}-"
        done_calls: dict[str, int] = {}
        for key, operation in operations:
            key = prefix + key
            try:
                if operation == "intent":
                    store.ledger_intent(key, "RUN-1", None, key, {})
                elif operation == "done":
                    store.ledger_done(key, {})
                    done_calls[key] = done_calls.get(key, 0) + 1
                else:
                    store.ledger_failed(key, "boom")
            except LedgerConflict:
                pass
        assert all(count == 1 for count in done_calls.values())
        for key in done_calls:
            entry = store.ledger_get(key)
            assert entry is not None and entry.status == "done"
