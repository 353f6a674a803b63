"""Contamination over run history: runs before, inside and after the window, a run that read the
bad input before it went bad, a failed run's partial output, a clean rewrite, a repair."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from graph.contamination import (
    ContaminationError,
    DatasetNames,
    bad_window_of_run,
    contamination,
)
from graph.loader import load_catalog
from graph.model import Catalog
from incidents.run_history import RunDataset, RunRecord

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
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: dashboard}
spec: {type: service, owner: team-ml, dependsOn: [resource:other]}
"""

RAW, FEATURES, MODEL = (
    "resource:default/raw",
    "resource:default/features",
    "component:default/model",
)
FEED, OTHER = "component:default/feed", "resource:default/other"
DASHBOARD = "component:default/dashboard"


def t(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 2, hour, minute, tzinfo=UTC)


def d(ref: str, version: str | None = None) -> RunDataset:
    return RunDataset("backstage", ref, version)


def run(
    run_id: str,
    read: datetime,
    end: datetime | None,
    state: str,
    inputs: list[RunDataset],
    outputs: list[RunDataset],
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        job_namespace="backstage",
        job_name=f"job-{run_id}",
        state=state,
        started_at=read,
        first_event_at=read,
        last_event_at=end or read,
        ended_at=end,
        parent_run_id=None,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
    )


RUNS = [
    run("before", t(8), t(8, 30), "COMPLETE", [d(RAW)], [d(FEATURES, "1")]),
    run("early-read", t(9, 50), t(10, 20), "COMPLETE", [d(RAW)], [d(OTHER, "4")]),
    run("bad-load", t(10), t(10, 5), "FAIL", [], [d(RAW)]),
    run("features", t(11), t(11, 30), "COMPLETE", [d(RAW)], [d(FEATURES, "2")]),
    run("model", t(12), t(12, 30), "FAIL", [d(FEATURES)], [d(MODEL, "7")]),
    run("feed", t(13), t(13, 10), "COMPLETE", [d(MODEL)], [d(FEED, "3")]),
    run("features-fix", t(15), t(15, 30), "COMPLETE", [d(RAW)], [d(FEATURES, "3")]),
    run("model-after", t(16), t(16, 30), "COMPLETE", [d(FEATURES)], [d(MODEL, "8")]),
]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    folder: Path = tmp_path_factory.mktemp("catalog")
    (folder / "catalog.yaml").write_text(CATALOG)
    return load_catalog([folder])


def test_a_repaired_window_taints_only_what_read_inside_it(catalog: Catalog) -> None:
    found = contamination(catalog, RUNS, RAW, t(10), t(14))
    assert [(c.ref, c.hops, c.versions) for c in found.contaminated] == [
        (RAW, 0, []),
        (FEATURES, 1, ["2"]),
        (MODEL, 2, ["7"]),  # a failed run's partial output is bad all the same
        (FEED, 3, ["3"]),
    ]
    assert [r.run_id for r in found.contaminated[0].runs] == ["bad-load"]
    assert [[r.run_id for r in c.runs] for c in found.contaminated[1:]] == [
        ["features"],
        ["model"],
        ["feed"],
    ]
    assert found.contaminated[3].path == [RAW, FEATURES, MODEL, FEED]
    assert found.contaminated[2].runs[0].state == "FAIL"
    clean = {c.ref: c for c in found.clean}
    assert set(clean) == {OTHER, DASHBOARD}
    # read raw at 09:50, before it went bad at 10:00
    assert clean[OTHER].reason == (
        "last written 2026-12-02 10:20 UTC by run early-read, and it read nothing bad"
    )
    assert clean[DASHBOARD].reason == "no recorded run wrote it"
    assert clean[OTHER].owner == "group:default/team-ml"


def test_without_a_repair_later_reads_are_tainted_too(catalog: Catalog) -> None:
    found = contamination(catalog, RUNS, RAW, t(10))
    by_ref = {c.ref: c for c in found.contaminated}
    assert by_ref[FEATURES].versions == ["2", "3"]
    assert by_ref[MODEL].versions == ["7", "8"]
    assert [r.run_id for r in by_ref[MODEL].runs] == ["model", "model-after"]


def test_a_clean_rewrite_repairs_what_a_tainted_run_wrote(catalog: Catalog) -> None:
    runs = [
        *RUNS[:4],
        run("features-clean", t(11, 40), t(11, 50), "COMPLETE", [d(OTHER)], [d(FEATURES, "9")]),
        *RUNS[4:6],
    ]
    found = contamination(catalog, runs, RAW, t(10), t(14))
    assert found.contaminated_refs == [RAW, FEATURES]
    clean = {c.ref: c.reason for c in found.clean}
    assert clean[MODEL] == (
        "last written 2026-12-02 12:30 UTC by run model, and it read nothing bad"
    )


def test_a_write_before_the_window_is_named_as_the_reason(catalog: Catalog) -> None:
    found = contamination(catalog, RUNS[:3], RAW, t(10))
    clean = {c.ref: c.reason for c in found.clean}
    assert clean[FEATURES] == "last written 2026-12-02 08:30 UTC by run before, before the window"


def test_a_window_that_ends_before_it_starts_is_refused(catalog: Catalog) -> None:
    with pytest.raises(ContaminationError, match=r"the window ends .* before it starts"):
        contamination(catalog, RUNS, RAW, t(10), t(9))


def test_the_bad_window_can_be_named_by_the_run_that_wrote_it() -> None:
    found, since = bad_window_of_run(RUNS, "bad-load")
    assert found.run_id == "bad-load" and since == t(10, 5)
    with pytest.raises(ContaminationError, match="no run 'nope'"):
        bad_window_of_run(RUNS, "nope")


def test_datasets_outside_the_backstage_namespace_keep_their_own_refs(catalog: Catalog) -> None:
    names = DatasetNames(catalog)
    assert names.ref("dataset", "backstage", "raw") == RAW
    assert names.ref("dataset", "s3://bucket", "x").startswith("dataset:")
    assert names.ref("dataset", "backstage", "no-such-thing") == "dataset:backstage/no-such-thing"
