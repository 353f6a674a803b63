"""`Store.contamination_runs(since)` reads only part of the run history, and the analysis over
that part is the analysis over all of it: random histories with ties, late writes, partial and
unfinished runs, a late event after a run ended, on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from graph.contamination import contamination
from graph.loader import load_catalog
from graph.model import Catalog
from incidents.store import Store

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: raw}
spec: {type: data-source, owner: team-data}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: features}
spec: {type: feature-store, owner: team-ml, dependsOn: [resource:raw]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: model}
spec: {type: model, owner: team-ml, dependsOn: [resource:features]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: feed}
spec: {type: feed, owner: team-commerce, dependsOn: [component:model]}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: other}
spec: {type: feature-store, owner: team-ml, dependsOn: [resource:raw]}
"""

START = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=10)  # a coarse grid, so that many events share an instant
# The same catalog asset named two ways (its ref and its short name), plus datasets the
# catalog does not know.
DATASETS = [
    ("backstage", "resource:default/raw"),
    ("backstage", "raw"),
    ("backstage", "resource:default/features"),
    ("backstage", "features"),
    ("backstage", "component:default/model"),
    ("backstage", "component:default/feed"),
    ("backstage", "other"),
    ("postgres://db:5432", "public.scratch"),
    ("postgres://db:5432", "public.Scratch"),
]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    folder: Path = tmp_path_factory.mktemp("catalog")
    (folder / "catalog.yaml").write_text(CATALOG)
    return load_catalog([folder])


def history(seed: int, runs: int) -> list[dict[str, Any]]:
    """OpenLineage events of `runs` random runs over ten hours."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for number in range(runs):
        run_id = f"run-{number:03d}"
        job = {"namespace": "backstage", "name": f"job-{rng.randrange(5)}"}
        begin = START + STEP * rng.randrange(60)
        end = begin + STEP * rng.randrange(4)  # 0: written at the instant it read
        ending = rng.choice(["COMPLETE", "COMPLETE", "COMPLETE", "FAIL", "ABORT", None])
        reads = [pick(rng) for _ in range(rng.randrange(3))]
        writes = [pick(rng, versioned=True) for _ in range(1 + rng.randrange(2))]

        def event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
            return {
                "eventType": kind,
                "eventTime": at.isoformat(),
                "run": {"runId": run_id},  # noqa: B023 (used at once)
                "job": job,  # noqa: B023
                "inputs": fields.get("inputs", []),
                "outputs": fields.get("outputs", []),
            }

        first = "START" if rng.random() < 0.85 else "RUNNING"  # some runs have no START
        events.append(event(first, begin, inputs=reads))
        if ending is None:  # never ended: what it wrote is known from a running event
            events.append(event("RUNNING", end, inputs=reads, outputs=writes))
        else:
            events.append(event(ending, end, inputs=reads, outputs=writes))
            if rng.random() < 0.3:  # a late event, long after the run ended
                events.append(event("RUNNING", end + STEP * (1 + rng.randrange(30))))
    return events


def pick(rng: random.Random, versioned: bool = False) -> dict[str, Any]:
    namespace, name = rng.choice(DATASETS)
    item: dict[str, Any] = {"namespace": namespace, "name": name}
    if versioned and rng.random() < 0.5:
        item["facets"] = {"version": {"datasetVersion": str(rng.randrange(100))}}
    return item


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_analysis_over_what_is_read_equals_the_analysis_over_everything(
    store: Store, catalog: Catalog, seed: int
) -> None:
    store.record_lineage_events(history(seed, 120), source="test")
    everything = store.run_records()
    checked = smaller = 0
    for source in ("resource:default/raw", "resource:default/features"):
        for step in range(0, 66, 3):
            since = START + STEP * step
            part = store.contamination_runs(since)
            smaller += len(part) < len(everything)
            for until in (None, since + STEP * 9):
                expected = contamination(catalog, everything, source, since, until)
                found = contamination(catalog, part, source, since, until)
                assert found.as_dict() == expected.as_dict()
                checked += bool(expected.contaminated[1:]) + bool(expected.clean)
    assert checked > 40  # the histories do contaminate and leave things clean
    assert smaller > 10  # and most windows need only part of the history


def test_runs_that_ended_before_the_window_bring_only_their_last_writes(store: Store) -> None:
    def run(run_id: str, at: str, output: str, inputs: list[str]) -> list[dict[str, Any]]:
        base = {"run": {"runId": run_id}, "job": {"namespace": "etl", "name": "load"}}
        out = [{"namespace": "pg", "name": output}]
        ins = [{"namespace": "pg", "name": name} for name in inputs]
        return [
            {**base, "eventType": "START", "eventTime": f"2026-12-02T{at}:00Z", "inputs": ins},
            {**base, "eventType": "COMPLETE", "eventTime": f"2026-12-02T{at}:30Z", "outputs": out},
        ]

    store.record_lineage_events(
        [
            *run("old-a", "01:00", "a", ["src"]),
            *run("newer-a", "02:00", "a", ["src"]),
            *run("old-b", "03:00", "b", ["a"]),
            *run("recent-b", "06:00", "b", ["a"]),
        ],
        source="test",
    )
    records = {r.run_id: r for r in store.contamination_runs(datetime(2026, 12, 2, 5, tzinfo=UTC))}
    assert sorted(records) == ["newer-a", "recent-b"]  # b was written again inside the window
    assert records["newer-a"].inputs == ()
    assert [d.name for d in records["newer-a"].outputs] == ["a"]
    assert [d.name for d in records["recent-b"].inputs] == ["a"]
    assert records["recent-b"] == store.lineage_run("recent-b")
    assert store.lineage_run("nope") is None
    assert store.has_run_history()
