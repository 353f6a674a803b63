"""The `airflow` action against real Airflow servers that `.ci/run` starts, each with the DAG
`oncall_backfill` (extract >> load >> publish, .ci/airflow_dags): an Airflow 3 API server (REST
API v2, every user an admin, ONCALL_TEST_AIRFLOW_URL), an Airflow 2 webserver (stable REST API
v1 with basic auth, ONCALL_TEST_AIRFLOW2_URL) and an Airflow 3 API server that needs a login
(simple auth manager with a passwords file, ONCALL_TEST_AIRFLOW_LOGIN_URL); the last two know
the user `oncall`, whose password is in the file ONCALL_TEST_AIRFLOW_PASSWORD_FILE names. Each
variable: skip locally without it, fail under CI. The operation tests run on Airflow 3 and 2.

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
from runbooks.actions.airflow_api import Airflow
from runbooks.actions.service import CredentialMissing, ServiceRefused, ServiceUnavailable
from runbooks.templating import Renderer, TemplateContext
from tests.conftest import (
    AIRFLOW2_ENV,
    AIRFLOW_ENV,
    AIRFLOW_LOGIN_ENV,
    AIRFLOW_PASSWORD_FILE_ENV,
    AIRFLOW_USER,
    service_url,
)
from tests.runbooks.flaky_proxy import closed_port_url, flaky_proxy

DAG = "oncall_backfill"


class Dag:
    """The test DAG on one server, read and arranged through its REST API directly; and the
    `[connections.airflow]` credential source an action uses to reach that server."""

    def __init__(self, url: str, api: str = "v2", password_file: str | None = None) -> None:
        self.url = url
        self.api_version = api
        self.api = f"{url}/api/{api}/dags/{DAG}"
        self.credentials: dict[str, str] | None = None
        self.auth: tuple[str, str] | None = None
        self.headers: dict[str, str] = {}
        if password_file is None:
            return
        self.credentials = {"username": AIRFLOW_USER, "password_file": password_file}
        password = Path(password_file).read_text(encoding="utf-8").strip()
        if api == "v1":
            self.auth = (AIRFLOW_USER, password)
        else:
            login = {"username": AIRFLOW_USER, "password": password}
            token = self._call("POST", f"{url}/auth/token", json=login)["access_token"]
            self.headers = {"Authorization": f"Bearer {token}"}

    def runtime(self, tmp_path: Path, **kw: Any) -> ActionRuntime:
        return runtime(tmp_path, self.url, credentials=self.credentials, **kw)

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
        body: dict[str, Any] = {"new_state": "failed"}
        if self.api_version == "v1":
            body["dry_run"] = False  # Airflow 2's default is a dry run
        self._call("PATCH", f"{self.api}/dagRuns/{run_id}/taskInstances/{task}", json=body)

    def states(self, run_id: str) -> dict[str, str | None]:
        found = self._call("GET", f"{self.api}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in found["task_instances"]}

    def runs_named(self, run_id: str) -> int:
        response = self._request("GET", f"{self.api}/dagRuns/{run_id}")
        return 0 if response.status_code == 404 else 1

    def run_ids(self) -> list[str]:
        found = self._call("GET", f"{self.api}/dagRuns", params={"limit": 1000})
        return [r["dag_run_id"] for r in found["dag_runs"]]

    def delete_run(self, run_id: str) -> None:
        response = self._request("DELETE", f"{self.api}/dagRuns/{run_id}")
        assert response.status_code in (204, 404), response.text

    def _call(self, method: str, url: str, **kw: Any) -> dict[str, Any]:
        response = self._request(method, url, **kw)
        response.raise_for_status()
        return dict(response.json())

    def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return httpx.request(method, url, timeout=30, auth=self.auth, headers=self.headers, **kw)


def airflow_server(kind: str) -> Dag:
    """ "3" (no login), "2" (basic auth) or "3-login" (/auth/token): skip or fail without it."""
    if kind == "3":
        return Dag(service_url(AIRFLOW_ENV, "Airflow"))
    password_file = service_url(AIRFLOW_PASSWORD_FILE_ENV, "Airflow login")
    if kind == "2":
        return Dag(service_url(AIRFLOW2_ENV, "Airflow 2"), "v1", password_file)
    return Dag(service_url(AIRFLOW_LOGIN_ENV, "Airflow 3 login"), "v2", password_file)


@pytest.fixture(params=["3", "2"], ids=["airflow3", "airflow2"])
def dag(request: pytest.FixtureRequest) -> Dag:
    return airflow_server(request.param)


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
    rt = dag.runtime(tmp_path)
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
    rt = dag.runtime(tmp_path, incident=incident)
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
    rt = dag.runtime(tmp_path)
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


UNKNOWN_DAG = {
    "v2": "HTTP 404: The Dag with ID: `no_such_dag` was not found",
    "v1": "HTTP 404: The DAG with dag_id: no_such_dag was not found",
}


def test_an_unknown_dag_or_run_fails_with_airflows_message(tmp_path: Path, dag: Dag) -> None:
    rt = dag.runtime(tmp_path)
    unknown = ACTIONS["airflow"].model_validate(
        {"type": "airflow", "connection": "airflow", "dag": "no_such_dag", "operation": "pause"}
    )
    with pytest.raises(ServiceRefused, match=UNKNOWN_DAG[dag.api_version]):
        unknown.execute(render(unknown), rt)
    no_run = action(operation="set_state", run_id="no-such-run", task="extract", state="success")
    with pytest.raises(ServiceRefused, match="HTTP 404"):
        no_run.execute(render(no_run), rt)
    with pytest.raises(ValueError, match="set_state needs 'run_id', 'task', 'state'"):
        action(operation="set_state")
    with pytest.raises(ValueError, match="pause does not use 'conf'"):
        action(operation="pause", conf={})


def test_the_api_version_is_found_once_per_run_or_taken_from_the_connection(
    tmp_path: Path, dag: Dag
) -> None:
    found = Airflow("airflow", dag.runtime(tmp_path))
    assert found.api == dag.api_version
    with flaky_proxy(dag.url, failures=0) as (url, seen):
        rt = runtime(tmp_path, url, credentials=dag.credentials)
        rt.labels = {**rt.labels, "run": f"RUN-{uuid.uuid4().hex[:6]}"}
        paused = action(CHECKS["airflow"], operation="pause")
        for _ in range(2):
            paused.check(render(paused), rt, MISSING)
        given = {**(dag.credentials or {}), "api_version": dag.api_version}
        paused.check(render(paused), runtime(tmp_path, url, credentials=given), MISSING)
    asked = [line for line in seen if line.endswith("/version")]
    # Airflow 3 answers the first question; Airflow 2 answers 404 to it, then the second.
    expected = ["GET /api/v2/version"] + (
        ["GET /api/v1/version"] if dag.api_version == "v1" else []
    )
    assert asked == expected  # two checks of one run, then one naming its api_version


def test_a_url_that_is_not_airflow_fails_naming_both_version_endpoints(
    tmp_path: Path, dag: Dag
) -> None:
    pause = action(operation="pause")
    with pytest.raises(
        ActionFailed,
        match=r"does not look like Airflow: neither /api/v2/version \(Airflow 3\) nor "
        r"/api/v1/version \(Airflow 2\) answered",
    ):
        pause.execute(render(pause), runtime(tmp_path, f"{dag.url}/not-airflow"))


def test_a_down_or_failing_airflow_is_retried_then_fails_and_a_500_then_ok_triggers_once(
    tmp_path: Path, dag: Dag
) -> None:
    pause = action(operation="pause")
    with pytest.raises(ServiceUnavailable, match=r"within the step's timeout of 1s \(\d+ attempts"):
        pause.execute(render(pause), runtime(tmp_path, closed_port_url(), timeout=1))

    incident = f"INC-{uuid.uuid4().hex[:6]}"
    trigger = action(operation="trigger")
    given = {**(dag.credentials or {}), "api_version": dag.api_version}
    with flaky_proxy(dag.url, failures=2) as (url, seen):
        rt = runtime(tmp_path, url, credentials=given, incident=incident)
        result = trigger.execute(render(trigger), rt)
    assert result.effect_count == 1
    created = f"POST /api/{dag.api_version}/dags/{DAG}/dagRuns"
    assert [line for line in seen if line != "POST /auth/token"] == [created] * 3  # 500, 500, ok
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


# -- logins: Airflow 3's /auth/token, Airflow 2's basic auth -----------------------------------


@pytest.fixture(params=["3-login", "2"], ids=["airflow3-login", "airflow2"])
def guarded(request: pytest.FixtureRequest) -> Dag:
    """A server that refuses requests without the user's password."""
    return airflow_server(request.param)


def test_a_user_and_password_log_in_and_the_password_is_never_in_an_answer(
    tmp_path: Path, guarded: Dag
) -> None:
    guarded.set_paused(False)
    pause, unpause = action(operation="pause"), action(operation="unpause")
    rt = guarded.runtime(tmp_path)
    done = pause.execute(render(pause), rt)
    assert (done.changed, guarded.is_paused()) == (f"{DAG}: unpaused → paused", True)
    preview = unpause.preview(render(unpause), rt)
    assert preview is not None and preview.text == f"{DAG}: paused → unpaused"
    assert unpause.execute(render(unpause), rt).effect_count == 1
    assert not guarded.is_paused()
    assert guarded.credentials is not None
    password = Path(guarded.credentials["password_file"]).read_text(encoding="utf-8").strip()
    assert password not in repr([done, preview])


def test_a_wrong_password_is_one_clear_refusal_and_nothing_changes(
    tmp_path: Path, guarded: Dag
) -> None:
    guarded.set_paused(False)
    wrong = tmp_path.parent / f"wrong-{uuid.uuid4().hex[:6]}"
    wrong.write_text("not-the-password\n", encoding="utf-8")
    rt = runtime(
        tmp_path, guarded.url, credentials={"username": AIRFLOW_USER, "password_file": str(wrong)}
    )
    answer = "Invalid credentials" if guarded.api_version == "v2" else "Unauthorized"
    pause = action(operation="pause")
    for attempt in (pause.execute, pause.preview):
        with pytest.raises(ServiceRefused) as refused:
            attempt(render(pause), rt)
        assert str(refused.value) == (
            f"Airflow at {guarded.url} refused the credentials of connection 'airflow' "
            f"(user 'oncall', from {wrong}): HTTP 401: {answer}"
        )
        assert "not-the-password" not in str(refused.value)
    assert not guarded.is_paused()

    with pytest.raises(ServiceRefused) as anonymous:
        pause.execute(render(pause), runtime(tmp_path, guarded.url))
    assert "needs a login (HTTP 401: " in str(anonymous.value)
    assert "names no credential: give it 'username' with 'password_env'" in str(anonymous.value)
    assert not guarded.is_paused()


def test_airflow_2_refuses_a_task_state_its_api_cannot_set_before_any_change(
    tmp_path: Path,
) -> None:
    dag = airflow_server("2")
    run_id = f"st-{uuid.uuid4().hex[:6]}"
    dag.trigger(run_id, a_month())
    rt = dag.runtime(tmp_path)
    queued = action(operation="set_state", run_id=run_id, task="extract", state="queued")
    message = (
        r"speaks Airflow 2's REST API \(/api/v1\), which can set a task instance only to "
        r"success, failed, skipped, not 'queued'; nothing was changed"
    )
    with pytest.raises(ActionFailed, match=message):
        queued.preview(render(queued), rt)
    with pytest.raises(ActionFailed, match=message):
        queued.execute(render(queued), rt)
    assert dag.states(run_id)["extract"] is None
    downstream = action(
        operation="set_state", run_id=run_id, task="load", state="skipped", downstream=True
    )
    assert (
        downstream.execute(render(downstream), rt).changed == f"load in {run_id}: (none) → skipped"
    )
    assert dag.states(run_id) == {"extract": None, "load": "skipped", "publish": "skipped"}
