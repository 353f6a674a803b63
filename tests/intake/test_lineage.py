"""`POST /api/v1/lineage`: the real openlineage-python client, HTTP transport, posting to a real
`oncall serve`; the events land in the run history the contamination query reads."""

from __future__ import annotations

import gzip
import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)

from incidents.store import Store
from tests.conftest import oncall_argv
from tests.intake.conftest import TOKEN, Server, serving
from workspace.discovery import open_workspace

PRODUCER = "https://github.com/oncall/tests"
BACKSTAGE = "backstage"  # datasets named by catalog ref, as the demo's run history does
T0 = datetime(2026, 3, 7, 2, 0, tzinfo=UTC)


def client(server: Server, compression: HttpCompression | None = None) -> OpenLineageClient:
    config = HttpConfig(
        url=server.url,
        auth=ApiKeyTokenProvider({"apiKey": TOKEN}),
        compression=compression,
        retry={"total": 0},
    )
    return OpenLineageClient(transport=HttpTransport(config))


def run_events(job: str, inputs: list[str], outputs: list[str], start: datetime, state: RunState):  # type: ignore[no-untyped-def]
    run = Run(runId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job}@{start.isoformat()}")))
    return [
        RunEvent(
            eventType=event_type,
            eventTime=when.isoformat(),
            producer=PRODUCER,
            run=run,
            job=Job(namespace=BACKSTAGE, name=job),
            inputs=[InputDataset(namespace=BACKSTAGE, name=name) for name in inputs],
            outputs=[OutputDataset(namespace=BACKSTAGE, name=name) for name in outputs],
        )
        for event_type, when in (
            (RunState.START, start),
            (state, start + timedelta(minutes=20)),
        )
    ]


def weekend() -> list[RunEvent]:
    """A partial load of training-db, then a model trained from it and one trained before."""
    return [
        *run_events(
            "component:default/nightly-etl",
            ["resource:default/ops-db"],
            ["resource:default/training-db"],
            T0,
            RunState.FAIL,
        ),
        *run_events(
            "train-demand-forecast",
            ["resource:default/training-db"],
            ["component:default/demand-forecast"],
            T0 + timedelta(hours=3),
            RunState.COMPLETE,
        ),
        *run_events(
            "train-reorder-recommender",
            ["resource:default/training-db"],
            ["component:default/reorder-recommender"],
            T0 - timedelta(days=1),
            RunState.COMPLETE,
        ),
    ]


@pytest.mark.slow
def test_the_openlineage_client_posts_run_events_that_the_contamination_query_sees(
    workspace: Path, tmp_path: Path
) -> None:
    events = weekend()
    with serving(workspace, tmp_path / "serve.log") as server:
        lineage = client(server)
        for event in events:
            lineage.emit(event)
        client(server, HttpCompression.GZIP).emit(events[0])  # a retry, compressed: no-op
        metrics = server.get("/metrics").text
    assert f'oncall_intake_lineage_events_total{{result="received"}} {len(events) + 1}.0' in metrics
    assert f'oncall_intake_lineage_events_total{{result="stored"}} {len(events)}.0' in metrics
    with Store.open(open_workspace(workspace).database_url) as store:
        runs = store.run_records()
    assert {run.job_name for run in runs} == {
        "component:default/nightly-etl",
        "train-demand-forecast",
        "train-reorder-recommender",
    }
    result = subprocess.run(
        oncall_argv(
            "--workspace",
            str(workspace),
            "contamination",
            "training-db",
            "--since",
            T0.isoformat(),
            "--json",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    contaminated = {entry["ref"] for entry in found["contaminated"]}
    clean = {entry["ref"] for entry in found["clean"]}
    assert "component:default/demand-forecast" in contaminated
    assert "component:default/reorder-recommender" in clean


def test_a_body_that_is_not_one_openlineage_event_is_refused_and_stores_nothing(
    workspace: Path, tmp_path: Path
) -> None:
    with serving(workspace, tmp_path / "serve.log") as server:
        not_json = server.post("/api/v1/lineage", b"{")
        a_list = server.post("/api/v1/lineage", "[]")
        nothing = server.post("/api/v1/lineage", json.dumps({"eventTime": "now"}))
        bad_run = server.post(
            "/api/v1/lineage",
            json.dumps({"eventType": "START", "run": {}, "job": {"namespace": "x", "name": "y"}}),
        )
        bad_gzip = httpx_post_gzip(server, b"not gzip at all")
        no_token = server.post("/api/v1/lineage", "{}", token=None)
    assert [r.status_code for r in (not_json, a_list, nothing, bad_run, bad_gzip)] == [400] * 5
    assert no_token.status_code == 401
    assert "no run, job or dataset" in nothing.json()["error"]
    with Store.open(open_workspace(workspace).database_url) as store:
        assert store.run_records() == []


def httpx_post_gzip(server: Server, body: bytes):  # type: ignore[no-untyped-def]
    import httpx

    return httpx.post(
        server.url + "/api/v1/lineage",
        content=body,
        headers={"authorization": f"Bearer {TOKEN}", "content-encoding": "gzip"},
        timeout=30,
    )


def test_a_gzip_bomb_is_refused_past_the_limit(workspace: Path, tmp_path: Path) -> None:
    import httpx

    bomb = gzip.compress(b" " * (4 * 1024 * 1024))
    with serving(workspace, tmp_path / "serve.log") as server:
        response = httpx.post(
            server.url + "/api/v1/lineage",
            content=bomb,
            headers={"authorization": f"Bearer {TOKEN}", "content-encoding": "gzip"},
            timeout=30,
        )
    assert response.status_code == 413
