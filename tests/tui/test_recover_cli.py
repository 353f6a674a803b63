"""`oncall plan` and `oncall recover` on the broken demo, through the real command line: the plan's
order and parameters, a recovery killed with SIGKILL between two runbooks (and inside one) and run
again, and a third run that changes nothing."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import demo
from demo.databases import audit_rows
from incidents.store import Store
from runbooks.failpoints import ENV_FAILPOINT
from tests.conftest import oncall_argv

TRAINING_DB = "resource:default/training-db"
RECOVER = ("--as", "ana.lima", "recover", "INC-1", "--yes", "--yes-destructive")


def broken_demo(root: Path) -> demo.Breakage:
    now = datetime.now(UTC) - timedelta(minutes=5)
    demo.init_workspace(root, now)
    with Store.open(f"sqlite:///{root / '.oncall' / 'state.db'}") as store:
        return demo.break_workspace(root, store, now=now)


def oncall(
    root: Path, *args: str, failpoint: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(ENV_FAILPOINT, None)
    if failpoint:
        env[ENV_FAILPOINT] = failpoint
    return subprocess.run(
        oncall_argv("--workspace", str(root), *args),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def effects(root: Path) -> Counter[tuple[str, ...]]:
    return Counter((db, *row) for db, rows in audit_rows(root / "data").items() for row in rows)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Counter[tuple[str, ...]]:
    """What an uninterrupted recovery changes, counted by the demo databases' audit triggers."""
    root = tmp_path_factory.mktemp("reference") / "ws"
    broken_demo(root)
    result = oncall(root, *RECOVER)
    assert result.returncode == 0, result.stderr
    return effects(root)


def test_the_plan_recovers_sources_first_with_the_hand_made_parameters(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    breakage = broken_demo(root)
    result = oncall(root, "plan", "INC-1", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["asset"] == TRAINING_DB
    steps = [(s["kind"], s["runbook"], s["asset"]) for s in plan["steps"]]
    assert steps == [
        ("runbook", "training-store-partial-load", TRAINING_DB),
        ("runbook", "model-rollback", "component:default/demand-forecast"),
        ("runbook", "feed-backout", "component:default/pricing-feed"),
        ("runbook", "feed-backout", "component:default/tax-feed"),
    ]
    # the same runbooks, assets and parameters as the commands `demo break` prints, in order
    printed = []
    for command in breakage.commands():
        words = shlex.split(command)
        params = dict(w.split("=", 1) for w in words[words.index("--param") :] if "=" in w)
        printed.append((words[words.index("run") + 1], params))
    assert [(s["runbook"], s["params"]["asset"].rsplit("/", 1)[1]) for s in plan["steps"]] == [
        (runbook, params["asset"]) for runbook, params in printed
    ]
    assert plan["steps"][0]["params"]["day"] == breakage.day  # from the incident's alert
    since = datetime.fromisoformat(breakage.since)
    assert all(
        datetime.fromisoformat(s["params"]["since"].replace("Z", "+00:00")) == since
        for s in plan["steps"]
    )
    assert plan["steps"][1]["versions"] == ["5"]
    assert "Tag the versions of demand-forecast trained since" in plan["steps"][1]["changes"][1]
    assert "component:default/reorder-recommender" in plan["clean"]


def test_a_recovery_killed_between_two_runbooks_continues_and_then_changes_nothing(
    tmp_path: Path, reference: Counter[tuple[str, ...]]
) -> None:
    root = tmp_path / "ws"
    broken_demo(root)
    killed = oncall(root, *RECOVER, failpoint="recover-step-2:before")
    assert killed.returncode == -signal.SIGKILL
    with Store.open(f"sqlite:///{root / '.oncall' / 'state.db'}") as store:
        assert [(r.runbook_id, r.status) for r in store.list_runs("INC-1")] == [
            ("training-store-partial-load", "done")
        ]
    again = oncall(root, *RECOVER, "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["status"] == "done"
    assert [r["run"] for r in report["runs"]] == ["RUN-1", "RUN-2", "RUN-3", "RUN-4"]
    assert "already done by RUN-1" in again.stderr
    assert effects(root) == reference
    third = oncall(root, *RECOVER, "--json")
    assert third.returncode == 0, third.stderr
    assert effects(root) == reference
    with Store.open(f"sqlite:///{root / '.oncall' / 'state.db'}") as store:
        runs = store.list_runs("INC-1")
        assert [r.status for r in runs] == ["done"] * 4
        plans = [
            e for e in store.events("INC-1") if e.kind == "decision" and "recovery_plan" in e.data
        ]
        assert len(plans) == 1  # the same plan is recorded once
        assert store.verify("INC-1").ok


def test_a_recovery_killed_inside_a_runbook_resumes_that_run(
    tmp_path: Path, reference: Counter[tuple[str, ...]]
) -> None:
    root = tmp_path / "ws"
    broken_demo(root)
    killed = oncall(root, *RECOVER, failpoint="point-champion:after")
    assert killed.returncode == -signal.SIGKILL
    again = oncall(root, *RECOVER, "--json")
    assert again.returncode == 0, again.stderr
    assert "resuming RUN-2" in again.stderr
    assert effects(root) == reference
    assert json.loads(again.stdout)["status"] == "done"


def test_an_incident_whose_alert_carries_no_since_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    broken_demo(root)
    opened = oncall(root, "incident", "open", "Other", "--asset", "feature-store")
    assert opened.returncode == 0, opened.stderr
    result = oncall(root, "plan", "INC-2")
    assert result.returncode == 2
    assert "INC-2's alerts carry no `since`: pass --since" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
