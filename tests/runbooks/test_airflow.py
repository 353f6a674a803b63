"""The `airflow` action against a real Airflow 3 API server that `.ci/run` starts, with the DAG
`oncall_backfill` (extract >> load >> publish, .ci/airflow_dags); its URL comes from
ONCALL_TEST_AIRFLOW_URL (skip locally without it, fail under CI).

No scheduler runs, so a triggered run stays queued and its task instances keep the states the
tests give them. Each test uses its own run ids and logical dates (a random day in a random
year), so tests never see each other's runs.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from runbooks.actions import ACTIONS, CHECKS, MISSING, Action, ActionFailed, ActionRuntime
from runbooks.actions.service import CredentialMissing, ServiceRefused, ServiceUnavailable
from runbooks.templating import Renderer, TemplateContext
from tests.conftest import AIRFLOW_ENV, service_url
from tests.runbooks.flaky_proxy import closed_port_url, flaky_proxy

DAG = "oncall_backfill"


@pytest.fixture(scope="session")
def airflow_url() -> str:
    return service_url(AIRFLOW_ENV, "Airflow")


class Dag:
    """The test DAG, read and arranged through the REST API directly."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.api = f"{url}/api/v2/dags/{DAG}"

    def is_paused(self) -> bool:
        return bool(self._call("GET", self.api)["is_paused"])

    def set_paused(self, paused: bool) -> None:
        self._call(
            "PATCH", self.api, params={"update_mask": "is_paused"}, json={"is_paused": paused}
        )

    def trigger(self, run_id: str, logical_date: datetime) -> None:
        body = {"dag_run_id": run_id, "logical_date": logical_date.isoformat(), "conf": {}}
        self._call("POST", f"{self.api}/dagRuns", json=body)

    def fail(self, run_id: str, task: str) -> None:
        self._call(
            "PATCH",
            f"{self.api}/dagRuns/{run_id}/taskInstances/{task}",
            json={"new_state": "failed"},
        )

    def states(self, run_id: str) -> dict[str, str | None]:
        found = self._call("GET", f"{self.api}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in found["task_instances"]}

    def runs_named(self, run_id: str) -> int:
        response = httpx.get(f"{self.api}/dagRuns/{run_id}", timeout=30)
        return 0 if response.status_code == 404 else 1

    def _call(self, method: str, url: str, **kw: Any) -> dict[str, Any]:
        response = httpx.request(method, url, timeout=30, **kw)
        response.raise_for_status()
        return dict(response.json())


@pytest.fixture
def dag(airflow_url: str) -> Dag:
    return Dag(airflow_url)


def a_month() -> datetime:
    """The first day of a month no other test uses (runs are unique per logical date)."""
    return datetime(random.randint(2040, 2999), random.randint(1, 12), 1, tzinfo=UTC)


def runtime(
    tmp_path: Path,
    url: str,
    *,
    credentials: dict[str, str] | None = None,
    timeout: float = 30,
    incident: str = "INC-1",
    step: str = "trigger",
) -> ActionRuntime:
    return ActionRuntime(
        connections={"airflow": url},
        credentials={"airflow": credentials} if credentials else {},
        workdir=tmp_path,
        timeout=timeout,
        labels={"incident": incident, "runbook": "backfill", "run": "RUN-1", "step": step},
    )


def action(kind: type[Action] | None = None, **fields: Any) -> Action:
    cls = kind or ACTIONS["airflow"]
    return cls.model_validate({"type": "airflow", "connection": "airflow", "dag": DAG, **fields})


def render(act: Action, **params: Any) -> Any:
    return act.render(Renderer(TemplateContext(params=dict(params))))


def test_pause_and_unpause_preview_act_and_check_the_dags_is_paused(
    tmp_path: Path, dag: Dag
) -> None:
    dag.set_paused(False)
    rt = runtime(tmp_path, dag.url)
    pause, unpause = action(operation="pause"), action(operation="unpause")
    paused_check = action(CHECKS["airflow"], operation="pause")
    assert render(pause).text == f"airflow on connection 'airflow': pause DAG '{DAG}'"
    assert not paused_check.check(render(paused_check), rt, MISSING).holds
    assert pause.preview(render(pause), rt).text == f"{DAG}: unpaused → paused"  # type: ignore[union-attr]
    assert not dag.is_paused()

    result = pause.execute(render(pause), rt)
    assert (result.changed, result.effect_count) == (f"{DAG}: unpaused → paused", 1)
    assert dag.is_paused()
    held = paused_check.check(render(paused_check), rt, MISSING)
    assert (held.holds, held.observed, held.detail) == (True, True, f"{DAG} is_paused = true")
    again = pause.execute(render(pause), rt)
    assert (again.changed, again.effect_count) == (f"{DAG}: already paused, nothing to change", 0)

    assert unpause.execute(render(unpause), rt).changed == f"{DAG}: paused → unpaused"
    assert not dag.is_paused()


def test_trigger_twice_makes_one_run_and_the_second_409_counts_as_done(
    tmp_path: Path, dag: Dag
) -> None:
    incident = f"INC-{uuid.uuid4().hex[:6]}"
    rt = runtime(tmp_path, dag.url, incident=incident)
    trigger = action(operation="trigger", conf={"reason": "{{ why }}", "full": True})
    rendered = render(trigger, why="backfill after INC")
    run_id = f"oncall__{incident}__backfill__trigger"
    preview = trigger.preview(rendered, rt)
    assert preview is not None
    assert preview.text == (
        f'triggers {DAG} as run {run_id} with conf {{"full": true, "reason": "backfill after INC"}}'
    )
    assert dag.runs_named(run_id) == 0
    run_check = action(CHECKS["airflow"], operation="trigger")
    assert not run_check.check(render(run_check), rt, MISSING).holds

    first = trigger.execute(rendered, rt)
    assert first.output["dag_run_id"] == run_id and first.output["created"] is True
    assert (first.effect_count, first.changed) == (1, f"triggered {DAG} run {run_id} (queued)")
    second = trigger.execute(rendered, rt)
    assert second.effect_count == 0
    assert second.changed == f"{DAG} run {run_id} already exists (queued); not triggered again"
    assert dag.runs_named(run_id) == 1
    held = run_check.check(render(run_check), rt, MISSING)
    assert (held.holds, held.observed) == (True, "queued")
    assert "already exists (queued)" in trigger.preview(rendered, rt).text  # type: ignore[union-attr]

    other_conf = action(operation="trigger", conf={"reason": "something else"})
    with pytest.raises(ActionFailed, match=rf"{run_id} already exists with conf"):
        other_conf.execute(render(other_conf), rt)


def test_clear_previews_airflows_dry_run_then_clears_only_the_failed_runs_of_the_range(
    tmp_path: Path, dag: Dag
) -> None:
    month = a_month()
    tag = uuid.uuid4().hex[:6]
    inside = [f"in1-{tag}", f"in2-{tag}"]
    outside = f"out-{tag}"
    dag.trigger(inside[0], month + timedelta(days=2))
    dag.trigger(inside[1], month + timedelta(days=3))
    dag.trigger(outside, month + timedelta(days=40))
    rt = runtime(tmp_path, dag.url)
    for run_id in (*inside, outside):
        set_failed = action(operation="set_state", run_id=run_id, task="extract", state="failed")
        assert set_failed.preview(render(set_failed), rt).text == (  # type: ignore[union-attr]
            f"extract in {run_id}: (none) → failed"
        )
        assert set_failed.execute(render(set_failed), rt).changed == (
            f"extract in {run_id}: (none) → failed"
        )
    clear = action(
        operation="clear",
        start_date="{{ since }}",
        end_date="{{ until }}",
        only_failed=True,
        downstream=True,
    )
    window = {"since": month.isoformat(), "until": (month + timedelta(days=10)).isoformat()}
    rendered = render(clear, **window)
    assert rendered.text == (
        f"airflow on connection 'airflow': clear the failed task instances of DAG '{DAG}' with "
        f"logical dates from {month.isoformat()} to {(month + timedelta(days=10)).isoformat()}, "
        "and their downstream tasks"
    )
    clear_check = action(
        CHECKS["airflow"], operation="clear", start_date="{{ since }}", end_date="{{ until }}"
    )
    assert not clear_check.check(render(clear_check, **window), rt, MISSING).holds

    preview = clear.preview(rendered, rt)
    assert preview is not None
    assert preview.text == (
        f"clears 2 task instances of 2 runs of {DAG}: extract in {inside[0]} (failed), "
        f"extract in {inside[1]} (failed)"
    )
    assert dag.states(inside[0])["extract"] == "failed"  # the dry run cleared nothing

    result = clear.execute(rendered, rt)
    assert result.effect_count == 2 and result.output["runs"] == sorted(inside)
    assert result.changed is not None and result.changed.startswith(
        f"cleared 2 task instances of 2 runs of {DAG}"
    )
    assert dag.states(inside[0])["extract"] is None
    assert dag.states(inside[1])["extract"] is None
    assert dag.states(outside)["extract"] == "failed"
    held = clear_check.check(render(clear_check, **window), rt, MISSING)
    assert (held.holds, held.detail) == (True, "0 failed task instances in the range")
    assert (
        clear.preview(rendered, rt).text
        == f"clears 0 task instances of 0 runs of {DAG} (nothing matches)"
    )  # type: ignore[union-attr]


def test_an_unknown_dag_or_run_fails_with_airflows_message(tmp_path: Path, dag: Dag) -> None:
    rt = runtime(tmp_path, dag.url)
    unknown = ACTIONS["airflow"].model_validate(
        {"type": "airflow", "connection": "airflow", "dag": "no_such_dag", "operation": "pause"}
    )
    with pytest.raises(
        ServiceRefused, match="HTTP 404: The Dag with ID: `no_such_dag` was not found"
    ):
        unknown.execute(render(unknown), rt)
    no_run = action(operation="set_state", run_id="no-such-run", task="extract", state="success")
    with pytest.raises(ServiceRefused, match="HTTP 404"):
        no_run.execute(render(no_run), rt)
    with pytest.raises(ValueError, match="set_state needs 'run_id', 'task', 'state'"):
        action(operation="set_state")
    with pytest.raises(ValueError, match="pause does not use 'conf'"):
        action(operation="pause", conf={})


def test_a_down_or_failing_airflow_is_retried_then_fails_and_a_500_then_ok_triggers_once(
    tmp_path: Path, dag: Dag
) -> None:
    pause = action(operation="pause")
    with pytest.raises(ServiceUnavailable, match=r"within the step's timeout of 1s \(\d+ attempts"):
        pause.execute(render(pause), runtime(tmp_path, closed_port_url(), timeout=1))

    incident = f"INC-{uuid.uuid4().hex[:6]}"
    trigger = action(operation="trigger")
    with flaky_proxy(dag.url, failures=2) as (url, seen):
        result = trigger.execute(render(trigger), runtime(tmp_path, url, incident=incident))
    assert result.effect_count == 1
    assert seen == [f"POST /api/v2/dags/{DAG}/dagRuns"] * 3  # two 500s, then created
    assert dag.runs_named(f"oncall__{incident}__backfill__trigger") == 1


def test_a_missing_password_fails_before_any_request(tmp_path: Path, dag: Dag) -> None:
    dag.set_paused(False)
    pause = action(operation="pause")
    rt = runtime(
        tmp_path,
        dag.url,
        credentials={"username": "oncall", "password_env": "ONCALL_TEST_NO_SUCH_PASSWORD"},
    )
    with pytest.raises(
        CredentialMissing,
        match=r"connection 'airflow': its password comes from the environment variable "
        r"\$ONCALL_TEST_NO_SUCH_PASSWORD, which is not set",
    ):
        pause.execute(render(pause), rt)
    assert not dag.is_paused()
