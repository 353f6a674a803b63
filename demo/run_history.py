"""The demo's weekend as OpenLineage RunEvents: what ran, when, reading and writing what.

Normal nights first (each day's load of training-db, a feature-store build, both models trained,
both feeds published), then seed 000: four partial loads that FAIL mid-way, demand-forecast v5
trained on them, pricing-feed v5 and tax-feed v5 published from it. reorder-recommender is not
retrained that day, so its champion (v4) predates the bad window: downstream, but clean.

Datasets and the ETL job are named in the `backstage` namespace by their catalog refs (see
`graph.contamination.BACKSTAGE_NAMESPACE`), so the run history lands on the catalog's assets.
Run ids are UUIDs derived from what the run is, so recording the same weekend twice is a no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from demo.databases import FEEDS, Timeline, iso

PRODUCER = "https://github.com/oncall/demo"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
BACKSTAGE = "backstage"
OPS_DB = "resource:default/ops-db"
TRAINING_DB = "resource:default/training-db"
FEATURE_STORE = "resource:default/feature-store"
ETL_JOB = "component:default/nightly-etl"
_RUN_NAMESPACE = uuid.UUID("6f6e6361-6c6c-4c64-8d6f-72756e686973")


def weekend_events(
    timeline: Timeline, partial_loads: list[tuple[str, datetime, datetime]], bad_version: int
) -> list[dict[str, Any]]:
    """Every RunEvent of the weekend; `partial_loads` are (load id, started, failed) of seed 000."""
    events: list[dict[str, Any]] = []
    history = timeline.history()
    for number, day in enumerate(history, start=1):
        night = timeline.nightly(day)
        load = f"etl-{day.isoformat()}"
        events += _run(
            ETL_JOB, load, night, night + timedelta(minutes=20), "COMPLETE",
            [_dataset(OPS_DB)], [_dataset(TRAINING_DB, load)], namespace=BACKSTAGE,
        )  # fmt: skip
        events += _run(
            "build-features", f"features-{day}", night + timedelta(hours=1),
            night + timedelta(hours=1, minutes=15), "COMPLETE",
            [_dataset(TRAINING_DB)], [_dataset(FEATURE_STORE, str(number))],
        )  # fmt: skip
        for model in ("demand-forecast", "reorder-recommender"):
            events += _run(
                f"train-{model}", f"{model}-v{number}", night + timedelta(hours=2),
                night + timedelta(hours=3), "COMPLETE",
                [_dataset(TRAINING_DB), _dataset(FEATURE_STORE)],
                [_dataset(f"component:default/{model}", str(number))], namespace="mlflow",
            )  # fmt: skip
        events += _feeds(night + timedelta(hours=4), number)
    for load, started, failed in partial_loads:
        events += _run(
            ETL_JOB, load, started, failed, "FAIL",
            [_dataset(OPS_DB)], [_dataset(TRAINING_DB, load)], namespace=BACKSTAGE,
        )  # fmt: skip
    t0 = timeline.first_bad_load
    events += _run(
        "train-demand-forecast", f"demand-forecast-v{bad_version}", t0 + timedelta(hours=5),
        t0 + timedelta(hours=5, minutes=30), "COMPLETE",
        [_dataset(TRAINING_DB), _dataset(FEATURE_STORE)],
        [_dataset("component:default/demand-forecast", str(bad_version))], namespace="mlflow",
    )  # fmt: skip
    events += _feeds(t0 + timedelta(hours=6), bad_version)
    return events


def _feeds(start: datetime, version: int) -> list[dict[str, Any]]:
    """Each feed published from its source's same-numbered version, ten minutes apart."""
    events: list[dict[str, Any]] = []
    for offset, (feed, source) in enumerate(FEEDS.items()):
        published = start + timedelta(minutes=10 * offset)
        events += _run(
            f"publish-{feed}", f"{feed}-v{version}", published - timedelta(minutes=5), published,
            "COMPLETE", [_dataset(f"component:default/{source}", str(version))],
            [_dataset(f"component:default/{feed}", str(version))], namespace="airflow",
        )  # fmt: skip
    return events


def _run(
    job: str,
    key: str,
    started: datetime,
    ended: datetime,
    state: str,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    *,
    namespace: str = "airflow",
) -> list[dict[str, Any]]:
    run_id = str(uuid.uuid5(_RUN_NAMESPACE, f"{job}/{key}/{iso(started)}"))
    return [
        _event("START", started, run_id, namespace, job, inputs, []),
        _event(state, ended, run_id, namespace, job, inputs, outputs),
    ]


def _event(
    kind: str,
    at: datetime,
    run_id: str,
    namespace: str,
    job: str,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": iso(at),
        "run": {"runId": run_id},
        "job": {"namespace": namespace, "name": job},
        "inputs": inputs,
        "outputs": outputs,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


def _dataset(ref: str, version: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"namespace": BACKSTAGE, "name": ref}
    if version is not None:
        item["facets"] = {
            "version": {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json",
                "datasetVersion": version,
            }
        }
    return item
