"""The example runbooks (runbooks/examples/) vetted and run by `oncall` against real MLflow and
Airflow servers: the whole path, oncall.toml connection tables and credentials included.

Each test copies the broken demo workspace, adds `[connections.registry]` / `[connections.airflow]`
tables naming the servers `.ci/run` started, copies an example runbook in and vets it with
`oncall runbook vet`, then runs it as an operator types it. The crash tests kill the run with
SIGKILL after a step's effect and before it is recorded (ONCALL_FAILPOINT), resume it, and show
that the step's check settles it: no second effect.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from incidents.store import Store
from runbooks.failpoints import ENV_FAILPOINT
from tests.conftest import AIRFLOW_USER, MLFLOW_ENV, REPO_ROOT, oncall_argv, service_url
from tests.runbooks.test_airflow import DAG, Dag, a_month, airflow_server
from tests.runbooks.test_mlflow import Model

EXAMPLES = REPO_ROOT / "runbooks" / "examples"
TOKEN_ENV = "ONCALL_TEST_REGISTRY_TOKEN"
TOKEN = f"tok-{uuid.uuid4().hex}"


def oncall(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        oncall_argv("-w", str(root), *args),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=180,
        check=False,
    )


def workspace_with(template: Path, tmp_path: Path, runbook: str, connections: str) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    with (root / "oncall.toml").open("a", encoding="utf-8") as config:
        config.write("\n" + connections)
    shutil.copy(EXAMPLES / f"{runbook}.yaml", root / "runbooks" / f"{runbook}.yaml")
    vetted = oncall(
        root,
        "runbook",
        "vet",
        str(root / "runbooks" / f"{runbook}.yaml"),
        "--reviewer",
        "hiro.tanaka",
    )
    assert vetted.returncode == 0, vetted.stderr
    return root


def report_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.stdout.strip(), done.stderr
    return dict(json.loads(done.stdout))


def steps_of(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(s["id"], s["status"], s["effect_count"]) for s in report["steps"]]


# -- MLflow ----------------------------------------------------------------------------------


@pytest.fixture
def registry_ws(broken_demo_template: Path, tmp_path: Path) -> tuple[Path, Model]:
    model = Model(service_url(MLFLOW_ENV, "MLflow"))
    root = workspace_with(
        broken_demo_template,
        tmp_path,
        "mlflow-champion-rollback",
        f'[connections.registry]\nurl = "{model.url}"\ntoken_env = "{TOKEN_ENV}"\n',
    )
    return root, model


def rollback_args(model: Model) -> list[str]:
    since = datetime.fromtimestamp(model.created[2] / 1000, UTC).isoformat()
    return [
        "--as",
        "erin.walsh",
        "runbook",
        "run",
        "mlflow-champion-rollback",
        "--incident",
        "INC-1",
        "--param",
        "asset=demand-forecast",
        "--param",
        f"model={model.name}",
        "--param",
        f"since={since}",
        "--param",
        "bad_version=3",
        "--yes",
        "--json",
    ]


def test_the_mlflow_rollback_runs_and_its_credential_never_reaches_the_store(
    registry_ws: tuple[Path, Model],
) -> None:
    root, model = registry_ws
    done = oncall(root, *rollback_args(model), env={TOKEN_ENV: TOKEN})
    assert done.returncode == 0, done.stderr
    assert steps_of(report_of(done)) == [
        ("find-good", "done", 0),
        ("point-champion", "done", 1),
        ("quarantine-bad", "done", 1),
    ]
    assert model.aliases() == {"champion": "2"}
    assert model.tags(3)["quarantined"] == "INC-1"
    state = (root / ".oncall" / "state.db").read_bytes()
    assert TOKEN.encode() not in state
    assert TOKEN not in done.stdout + done.stderr


def test_the_mlflow_rollback_skips_a_champion_already_in_place(
    registry_ws: tuple[Path, Model],
) -> None:
    root, model = registry_ws
    model.post("registered-models/alias", {"name": model.name, "alias": "champion", "version": "2"})
    done = oncall(root, *rollback_args(model), env={TOKEN_ENV: TOKEN})
    assert done.returncode == 0, done.stderr
    report = report_of(done)
    assert steps_of(report) == [
        ("find-good", "done", 0),
        ("point-champion", "skipped", 0),
        ("quarantine-bad", "done", 1),
    ]
    skipped = report["steps"][1]["message"]
    assert skipped == "desired state already holds (champion → v2)"


def test_an_mlflow_run_killed_after_moving_the_alias_resumes_without_moving_it_again(
    registry_ws: tuple[Path, Model],
) -> None:
    root, model = registry_ws
    killed = oncall(
        root,
        *rollback_args(model),
        env={TOKEN_ENV: TOKEN, ENV_FAILPOINT: "point-champion:after"},
    )
    assert killed.returncode == -signal.SIGKILL
    assert model.aliases() == {"champion": "2"}  # the effect happened; `done` was never written
    resumed = oncall(
        root,
        "--as",
        "erin.walsh",
        "runbook",
        "resume",
        "RUN-1",
        "--yes",
        "--json",
        env={TOKEN_ENV: TOKEN},
    )
    assert resumed.returncode == 0, resumed.stderr
    report = report_of(resumed)
    assert steps_of(report) == [
        ("find-good", "done", 0),
        ("point-champion", "done", 0),
        ("quarantine-bad", "done", 1),
    ]
    assert "its check shows it took effect (champion → v2)" in report["steps"][1]["message"]
    assert report_of(oncall(root, "incident", "verify", "INC-1", "--json"))["ok"] is True


def test_a_missing_credential_stops_the_run_at_the_first_step_naming_it(
    registry_ws: tuple[Path, Model],
) -> None:
    root, model = registry_ws
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    done = subprocess.run(
        oncall_argv("-w", str(root), *rollback_args(model)),
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=180,
        check=False,
    )
    assert done.returncode != 0
    report = report_of(done)
    assert report["status"] == "failed"
    assert steps_of(report)[0] == ("find-good", "failed", 0)
    assert report["steps"][0]["message"] == (
        f"connection 'registry': its token comes from the environment variable ${TOKEN_ENV}, "
        "which is not set (export it, then run the step again)"
    )
    assert [s["status"] for s in report["steps"][1:]] == ["pending", "pending"]
    assert model.aliases() == {"champion": "3"}


# -- Airflow ---------------------------------------------------------------------------------


@pytest.fixture(params=["3", "2", "3-login"], ids=["airflow3", "airflow2", "airflow3-login"])
def airflow_ws(
    broken_demo_template: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[Path, Dag]:
    dag = airflow_server(request.param)
    return airflow_workspace(broken_demo_template, tmp_path, dag), dag


def airflow_workspace(template: Path, tmp_path: Path, dag: Dag, password_file: str = "") -> Path:
    """The demo with the backfill runbook and a `[connections.airflow]` table reaching `dag`'s
    server (as user `oncall` with the password in `password_file`, or the server's own file)."""
    table = f'[connections.airflow]\nurl = "{dag.url}"\n'
    if dag.credentials is not None:
        table += f'username = "{AIRFLOW_USER}"\n'
        table += f'password_file = "{password_file or dag.credentials["password_file"]}"\n'
    return workspace_with(template, tmp_path, "airflow-backfill", table)


def backfill_args(month: datetime, incident: str = "INC-1") -> list[str]:
    return [
        "--as",
        "ana.lima",
        "runbook",
        "run",
        "airflow-backfill",
        "--incident",
        incident,
        "--param",
        "asset=nightly-etl",
        "--param",
        f"dag={DAG}",
        "--param",
        f"since={month.isoformat()}",
        "--param",
        f"until={(month + timedelta(days=10)).isoformat()}",
        "--yes",
        "--json",
    ]


def failed_runs(dag: Dag, month: datetime) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    ids = [f"bad1-{tag}", f"bad2-{tag}"]
    for offset, run_id in enumerate(ids):
        dag.trigger(run_id, month + timedelta(days=offset + 1))
        dag.fail(run_id, "extract")
    return ids


def forget_catch_up_run(dag: Dag) -> str:
    """The catch-up run's id (from incident INC-1, runbook and step), deleted if an earlier
    test made it: every test workspace is a copy of the same demo, so they share INC-1."""
    run_id = "oncall__INC-1__airflow-backfill__trigger"
    dag.delete_run(run_id)
    return run_id


def test_the_airflow_backfill_pauses_clears_triggers_once_and_unpauses(
    airflow_ws: tuple[Path, Dag],
) -> None:
    root, dag = airflow_ws
    dag.set_paused(False)
    month = a_month()
    bad = failed_runs(dag, month)
    run_id = forget_catch_up_run(dag)
    done = oncall(root, *backfill_args(month))
    assert done.returncode == 0, done.stderr
    assert steps_of(report_of(done)) == [
        ("pause", "done", 1),
        ("clear-failed", "done", 2),
        ("trigger", "done", 1),
        ("unpause", "done", 1),
    ]
    assert [dag.states(run_id)["extract"] for run_id in bad] == [None, None]
    assert not dag.is_paused()
    assert dag.run_ids().count(run_id) == 1
    if dag.credentials is not None:  # logged in: the password reached no output, no event
        password = Path(dag.credentials["password_file"]).read_text(encoding="utf-8").strip()
        assert password not in done.stdout + done.stderr
        assert password.encode() not in (root / ".oncall" / "state.db").read_bytes()


def test_an_airflow_run_killed_after_the_trigger_resumes_without_a_second_run(
    airflow_ws: tuple[Path, Dag],
) -> None:
    root, dag = airflow_ws
    dag.set_paused(False)
    month = a_month()
    failed_runs(dag, month)
    run_id = forget_catch_up_run(dag)
    killed = oncall(root, *backfill_args(month), env={ENV_FAILPOINT: "trigger:after"})
    assert killed.returncode == -signal.SIGKILL
    assert dag.runs_named(run_id) == 1 and dag.is_paused()
    resumed = oncall(root, "--as", "ana.lima", "runbook", "resume", "RUN-1", "--yes", "--json")
    assert resumed.returncode == 0, resumed.stderr
    report = report_of(resumed)
    assert steps_of(report) == [
        ("pause", "done", 1),
        ("clear-failed", "done", 2),
        ("trigger", "done", 0),
        ("unpause", "done", 1),
    ]
    assert "its check shows it took effect" in report["steps"][2]["message"]
    assert dag.run_ids().count(run_id) == 1
    assert not dag.is_paused()


@pytest.mark.parametrize("kind", ["3-login", "2"], ids=["airflow3-login", "airflow2"])
def test_a_wrong_airflow_password_stops_the_backfill_at_its_first_step_naming_it(
    broken_demo_template: Path, tmp_path: Path, kind: str
) -> None:
    dag = airflow_server(kind)
    dag.set_paused(False)
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password\n", encoding="utf-8")
    root = airflow_workspace(broken_demo_template, tmp_path, dag, str(wrong))
    args = backfill_args(a_month())
    done = oncall(root, *args)
    assert done.returncode != 0
    report = report_of(done)
    assert report["status"] == "failed"
    assert steps_of(report) == [
        ("pause", "failed", 0),
        ("clear-failed", "pending", 0),
        ("trigger", "pending", 0),
        ("unpause", "pending", 0),
    ]
    answer = "Invalid credentials" if dag.api_version == "v2" else "Unauthorized"
    refusal = (
        f"Airflow at {dag.url} refused the credentials of connection 'airflow' "
        f"(user 'oncall', from {wrong}): HTTP 401: {answer}"
    )
    assert report["steps"][0]["message"] == f"check failed: {refusal}"
    assert not dag.is_paused()
    said = oncall(root, *[a for a in args if a != "--json"], "--incident", "INC-1")
    assert said.returncode != 0
    assert f"✗ pause: failed: check failed: {refusal}\n" in said.stdout
    drafted = oncall(root, "postmortem", "INC-1", "--out", "-")
    assert drafted.returncode == 0, drafted.stderr
    for text in (done.stdout, done.stderr, said.stdout, said.stderr, drafted.stdout):
        assert "not-the-password" not in text
    assert b"not-the-password" not in (root / ".oncall" / "state.db").read_bytes()


REDACTION_RUNBOOK = """\
id: registry-tag
title: Tag a model version
version: 1
params:
  model: {type: string, required: true}
steps:
  - id: tag-bad
    title: Tag version 3 of {{ model }}
    timeout: 2s
    assets: ["component:default/demand-forecast"]
    action:
      type: mlflow
      connection: registry
      operation: set_version_tag
      model: "{{ model }}"
      version: 3
      key: quarantined
      value: "yes"
"""


def test_a_service_error_echoing_the_credential_is_redacted_on_the_timeline_and_postmortem(
    broken_demo_template: Path, tmp_path: Path
) -> None:
    from tests.runbooks.flaky_proxy import flaky_proxy

    model = Model(service_url(MLFLOW_ENV, "MLflow"))
    secret = tmp_path / "registry-token"
    secret.write_text(TOKEN, encoding="utf-8")
    with flaky_proxy(model.url, failures=10_000) as (url, _seen):
        root = tmp_path / "ws"
        shutil.copytree(broken_demo_template, root)
        with (root / "oncall.toml").open("a", encoding="utf-8") as config:
            config.write(f'\n[connections.registry]\nurl = "{url}"\ntoken_file = "{secret}"\n')
        path = root / "runbooks" / "registry-tag.yaml"
        path.write_text(REDACTION_RUNBOOK, encoding="utf-8")
        vetted = oncall(root, "runbook", "vet", str(path), "--reviewer", "hiro.tanaka")
        assert vetted.returncode == 0, vetted.stderr
        done = oncall(
            root,
            "--as",
            "erin.walsh",
            "runbook",
            "run",
            "registry-tag",
            "--incident",
            "INC-1",
            "--param",
            f"model={model.name}",
            "--yes",
            "--json",
        )
    report = report_of(done)
    assert report["status"] == "failed"
    message = report["steps"][0]["message"]
    assert (
        "HTTP 500: INTERNAL_ERROR: backend store unavailable (auth: Bearer [redacted])" in message
    )
    drafted = oncall(root, "postmortem", "INC-1", "--out", "-")
    assert drafted.returncode == 0, drafted.stderr
    store = Store.open(f"sqlite:///{root / '.oncall' / 'state.db'}")
    try:
        failed = [e for e in store.events("INC-1") if e.kind == "step_failed"]
    finally:
        store.close()
    assert "(auth: Bearer [redacted])" in failed[-1].message
    for text in (done.stdout, done.stderr, drafted.stdout):
        assert TOKEN not in text
    assert TOKEN.encode() not in (root / ".oncall" / "state.db").read_bytes()
    assert model.tags(3) == {"window": "bad"}
