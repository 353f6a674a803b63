"""Run history in the store: OpenLineage RunEvents recorded idempotently, checked as a batch,
summarised per run, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from incidents.errors import InvalidValue
from incidents.models import LINEAGE_RUN_EVENTS, LINEAGE_RUNS
from incidents.run_history import RunDataset, lineage_event_problem, summarise_events
from incidents.store import Store


def event(
    run_id: str,
    event_type: str,
    at: str,
    *,
    job: str = "etl",
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    parent: str | None = None,
) -> dict[str, Any]:
    run: dict[str, Any] = {"runId": run_id}
    if parent:
        run["facets"] = {
            "parent": {"run": {"runId": parent}, "job": {"namespace": "airflow", "name": "dag"}}
        }
    return {
        "eventType": event_type,
        "eventTime": at,
        "run": run,
        "job": {"namespace": "airflow", "name": job},
        "inputs": inputs or [],
        "outputs": outputs or [],
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def dataset(name: str, version: str | int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"namespace": "postgres://db:5432", "name": name}
    if version is not None:
        item["facets"] = {"version": {"datasetVersion": version}}
    return item


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_run_is_summarised_from_its_events_with_what_it_read_and_wrote(store: Store) -> None:
    events = [
        event("r1", "START", "2026-12-02T02:00:00Z", inputs=[dataset("public.orders")]),
        event("r1", "RUNNING", "2026-12-02T02:01:00Z"),
        event(
            "r1",
            "COMPLETE",
            "2026-12-02T02:04:00+00:00",
            inputs=[dataset("public.orders")],
            outputs=[dataset("Training.Samples", 7)],
        ),
    ]
    assert store.record_lineage_events(events, source="lineage/etl.json") == 3
    (record,) = store.run_records()
    assert record.run_id == "r1"
    assert (record.job_namespace, record.job_name) == ("airflow", "etl")
    assert record.state == "COMPLETE"
    assert record.started_at == record.read_at == at("2026-12-02T02:00:00")
    assert record.ended_at == at("2026-12-02T02:04:00")
    assert record.inputs == (RunDataset("postgres://db:5432", "public.orders"),)
    # dataset names keep their case: S3 keys and paths are case-sensitive
    assert record.outputs == (RunDataset("postgres://db:5432", "Training.Samples", "7"),)


def test_recording_the_same_events_again_changes_nothing(store: Store, raw: Engine) -> None:
    events = [
        event("r1", "START", "2026-12-02T02:00:00Z"),
        event("r1", "FAIL", "2026-12-02T02:04:00Z", outputs=[dataset("samples")]),
    ]
    assert store.record_lineage_events(events, source="a") == 2
    assert store.record_lineage_events(events, source="b") == 0
    assert store.record_lineage_events([*events, *events], source="c") == 0
    with raw.connect() as conn:
        assert conn.execute(select(func.count()).select_from(LINEAGE_RUN_EVENTS)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(LINEAGE_RUNS)).scalar() == 1
    (record,) = store.run_records()
    assert record.state == "FAIL"
    assert record.outputs == (RunDataset("postgres://db:5432", "samples"),)


def test_the_same_instant_in_another_zone_is_the_same_event(store: Store) -> None:
    assert store.record_lineage_events([event("r1", "START", "2026-12-02T02:00:00Z")], source="a")
    again = [event("r1", "START", "2026-12-02T03:00:00+01:00")]
    assert store.record_lineage_events(again, source="a") == 0


def test_events_arriving_out_of_order_give_the_same_summary(store: Store) -> None:
    store.record_lineage_events(
        [event("r1", "COMPLETE", "2026-12-02T02:04:00Z", outputs=[dataset("s", 2)])], source="a"
    )
    (early,) = store.run_records()
    assert early.started_at is None and early.read_at == at("2026-12-02T02:04:00")
    store.record_lineage_events(
        [event("r1", "START", "2026-12-02T02:00:00Z", parent="p1", outputs=[dataset("s")])],
        source="b",
    )
    (record,) = store.run_records()
    assert record.state == "COMPLETE"
    assert record.started_at == at("2026-12-02T02:00:00")
    assert record.first_event_at == at("2026-12-02T02:00:00")
    assert record.last_event_at == record.ended_at == at("2026-12-02T02:04:00")
    assert record.parent_run_id == "p1"
    assert record.outputs[0].version == "2"  # a later event without a version keeps it


def test_a_malformed_event_stores_nothing_of_its_batch(store: Store) -> None:
    good = event("r1", "START", "2026-12-02T02:00:00Z")
    bad = event("r2", "START", "yesterday")
    with pytest.raises(InvalidValue, match=r"lineage event 2 of 2 from intake: run r2: eventTime"):
        store.record_lineage_events([good, bad], source="intake")
    assert store.run_records() == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: (e.pop("run"), e.pop("job")), "has no `run`"),
        (lambda e: e["run"].pop("runId"), "run.runId must be a non-empty text"),
        (lambda e: e.update(eventType="DONE"), "eventType 'DONE' is not one of"),
        (lambda e: e.update(job="etl"), "`job` must be an object"),
        (lambda e: e["job"].update(name=""), "job.name must be a non-empty text"),
        (lambda e: e.update(inputs={"name": "x"}), "inputs must be a list"),
        (lambda e: e.update(outputs=[{"namespace": "s3://b"}]), r"outputs\[0\].name"),
        (lambda e: e["run"].update(facets={"parent": {"run": 3}}), "parent facet has no `run`"),
        (lambda e: e.pop("eventTime"), "eventTime must be an ISO 8601 text"),
    ],
)
def test_each_kind_of_malformed_event_is_named(mutate: Any, message: str) -> None:
    bad = event("r1", "START", "2026-12-02T02:00:00Z")
    mutate(bad)
    problem = lineage_event_problem(bad)
    assert problem is not None

    assert re.search(message, problem), problem


def test_dataset_and_job_events_are_accepted_and_not_run_history(store: Store) -> None:
    dataset_event = {"eventTime": "2026-12-02T02:00:00Z", "dataset": dataset("x")}
    job_event = {"eventTime": "2026-12-02T02:00:00Z", "job": {"namespace": "a", "name": "b"}}
    assert lineage_event_problem(dataset_event) is None
    assert store.record_lineage_events([dataset_event, job_event], source="intake") == 0
    assert store.run_records() == []


def test_run_records_can_be_limited_to_a_window(store: Store) -> None:
    store.record_lineage_events(
        [
            event("old", "START", "2026-12-01T01:00:00Z"),
            event("old", "COMPLETE", "2026-12-01T02:00:00Z"),
            event("new", "START", "2026-12-02T01:00:00Z"),
            event("late", "START", "2026-12-04T01:00:00Z"),
        ],
        source="a",
    )
    assert [r.run_id for r in store.run_records()] == ["old", "new", "late"]
    window = store.run_records(since=at("2026-12-02T00:00:00"), until=at("2026-12-03T00:00:00"))
    assert [r.run_id for r in window] == ["new"]


def test_a_lineage_file_is_remembered_by_its_content(store: Store) -> None:
    assert store.lineage_source_digest("lineage/a.json") is None
    store.mark_lineage_source("lineage/a.json", "ab" * 32, 3)
    store.mark_lineage_source("lineage/a.json", "cd" * 32, 4)
    assert store.lineage_source_digest("lineage/a.json") == "cd" * 32


def test_a_late_running_event_does_not_reopen_an_ended_run() -> None:
    state, started, first, last, ended = summarise_events(
        [
            (at("2026-12-02T02:00:00"), "START"),
            (at("2026-12-02T02:05:00"), "RUNNING"),
            (at("2026-12-02T02:04:00"), "FAIL"),
        ]
    )
    assert state == "FAIL"
    assert ended == at("2026-12-02T02:04:00")
    assert last == at("2026-12-02T02:05:00")
    assert started == first == at("2026-12-02T02:00:00")
