"""A real incident on a real store, recorded the way the CLI and the runbook engine record one:
status changes, an alert, notes (with characters that could break markdown), pages, a runbook run
with done, skipped, failed and manual steps, a lease takeover and a break-glass override."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from graph.loader import load_catalog
from graph.model import Catalog
from incidents.store import Store

CATALOG_DIR = Path(__file__).parent / "catalog"
T0 = datetime(2024, 5, 4, 3, 0, tzinfo=UTC)
TRAINING_DB = "resource:default/training-db"
ALICE = "user:default/alice"
BOB = "user:default/bob"
TRICKY_NOTE = "rows | 4 partial loads\nsee `SELECT * FROM loads WHERE x | y` <b>now</b>"


class Clock:
    """A clock the test moves by hand, so every recorded time is known."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def small_catalog() -> Catalog:
    return load_catalog([CATALOG_DIR])


def open_store(url: str) -> tuple[Store, Clock]:
    clock = Clock(T0)
    return Store.open(url, clock=clock), clock


def record_incident(store: Store, clock: Clock, resolve: bool = True) -> str:
    """The weekend, recorded; returns the incident id."""
    incident = store.open_incident(
        "Training DB: 4 partial loads | retrain", TRAINING_DB, "SEV1", actor=ALICE, commander=ALICE
    )
    clock.advance(seconds=30)
    store.append_event(
        incident.id,
        "alert",
        "nightly-etl load 4 failed half-way",
        "alertmanager",
        {"started_at": "2024-05-04T01:30:00Z", "fired_at": "2024-05-04T02:55:00Z"},
    )
    clock.advance(minutes=4)
    store.set_status(incident.id, "acknowledged", actor=ALICE)
    store.append_event(incident.id, "page", "paged team-ml: demand-forecast affected", ALICE)
    clock.advance(minutes=1)
    store.append_event(incident.id, "note", TRICKY_NOTE, BOB)

    clock.advance(minutes=5)
    run = store.create_run(
        incident.id,
        "training-store-partial-load",
        3,
        "ab" * 32,
        {"asset": TRAINING_DB, "since": "2024-05-04T01:30:00Z"},
        ALICE,
    )
    step = _stepper(store, clock, incident.id, run.id)
    step("pause-etl", "Pause the nightly ETL", "sql", "done")
    step("check-backups", "Confirm a backup exists", "manual", "done")
    step(
        "delete-partial", "Delete the partial batches", "sql", "failed", error="database is locked"
    )
    store.append_event(
        incident.id,
        "override",
        "delete-partial: break-glass by bob on training-db: owner unreachable | 3 AM",
        BOB,
        {
            "run": run.id,
            "step": "delete-partial",
            "break_glass": "owner unreachable | 3 AM",
            "assets": [TRAINING_DB],
        },
    )
    step("delete-partial", "Delete the partial batches", "sql", "done", actor=BOB)
    store.set_run_status(run.id, "done")

    clock.advance(minutes=20)
    store.append_event(
        incident.id,
        "override",
        "bob took over the lease on training-db from alice (run RUN-1): stuck",
        BOB,
        {"asset": TRAINING_DB, "run": "RUN-2", "reason": "stuck", "previous": {"run_id": run.id}},
    )
    second = store.create_run(
        incident.id, "training-store-partial-load", 3, "ab" * 32, {"asset": TRAINING_DB}, BOB
    )
    step2 = _stepper(store, clock, incident.id, second.id)
    step2("pause-etl", "Pause the nightly ETL", "sql", "skipped", reason="already done in RUN-1")
    store.set_run_status(second.id, "done")

    clock.advance(minutes=30)
    store.set_status(incident.id, "mitigated", actor=ALICE)
    if resolve:
        clock.advance(hours=2)
        store.set_status(incident.id, "resolved", actor=ALICE)
    return incident.id


def _stepper(store: Store, clock: Clock, incident_id: str, run_id: str) -> Callable[..., None]:
    def step(
        step_id: str,
        title: str,
        action_type: str,
        outcome: str,
        *,
        actor: str | None = None,
        error: str | None = None,
        reason: str | None = None,
    ) -> None:
        who = actor or ALICE
        data = {"run": run_id, "runbook": "training-store-partial-load", "step": step_id}
        clock.advance(minutes=1)
        if outcome == "skipped":
            store.append_event(
                incident_id, "step_skipped", f"{step_id}: {reason}", who, {**data, "reason": reason}
            )
            return
        key = f"{run_id}:{step_id}:{clock.now.isoformat()}"
        store.ledger_intent(key, run_id, incident_id, step_id, {"type": action_type, "text": title})
        store.append_event(incident_id, "step_started", f"{step_id}: {title}", who, data)
        clock.advance(seconds=20)
        if outcome == "failed":
            store.ledger_failed(key, error or "failed")
            store.append_event(
                incident_id,
                "step_failed",
                f"{step_id}: failed: {error}",
                who,
                {**data, "error": error},
            )
        else:
            store.ledger_done(key, {"rows": 4})
            store.append_event(incident_id, "step_done", f"{step_id}: done", who, data)

    return step
