"""SIGKILL at every step boundary of the demo recovery, then resume: every effect exactly once.

Each case starts a child that runs a recovery runbook with `ONCALL_FAILPOINT=<step>:<boundary>`,
so the child kills itself with SIGKILL either after the intent is recorded and before the effect
(`before`) or after the effect and before `done` (`after`). The parent then resumes the run and
compares the demo databases' audit logs (one row per changed row, written by triggers) with an
uninterrupted run of the same runbook: the same changes, each exactly once. Children come from
a clean forkserver (tests/processes.py), so each case stays cheap; the command-line path is
covered in test_cli.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from runbooks.failpoints import ENV_FAILPOINT
from runbooks.leasing import RunStillActive
from tests.processes import CHILDREN
from tests.runbooks.demo_case import OPERATORS, DemoCase

STEPS = {
    "training-store-partial-load": [
        "pause-etl",
        "snapshot-partial",
        "delete-partial",
        "reload",
        "resume-etl",
    ],
    "model-rollback": ["point-champion", "quarantine-bad"],
    "feed-backout": ["restore-active", "withdraw-window"],
}
CASES = [
    pytest.param(runbook, step, boundary, id=f"{runbook}:{step}:{boundary}")
    for runbook, steps in STEPS.items()
    for step in steps
    for boundary in ("before", "after")
]


def _run_until_killed(root: Path, runbook_id: str, failpoint: str) -> None:
    os.environ[ENV_FAILPOINT] = failpoint
    case = DemoCase(root)
    case.start(runbook_id).run_all()
    os._exit(3)  # the failpoint did not fire


@pytest.fixture(scope="module")
def reference_effects(
    broken_demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Counter[tuple[str, str, str, str]]]:
    """What each runbook changes when nothing goes wrong, counted in the databases."""
    effects = {}
    for runbook_id in STEPS:
        root = tmp_path_factory.mktemp("reference") / "ws"
        shutil.copytree(broken_demo_template, root)
        case = DemoCase(root)
        try:
            assert case.start(runbook_id).run_all().status == "done"
            effects[runbook_id] = _counted(case)
        finally:
            case.close()
    return effects


def _counted(case: DemoCase) -> Counter[tuple[str, str, str, str]]:
    return Counter((db, *row) for db, rows in case.audit().items() for row in rows)


@pytest.mark.slow
@pytest.mark.parametrize(("runbook_id", "step_id", "boundary"), CASES)
def test_a_run_killed_at_a_step_boundary_resumes_with_every_effect_exactly_once(
    broken_demo_template: Path,
    tmp_path: Path,
    reference_effects: dict[str, Counter[tuple[str, str, str, str]]],
    runbook_id: str,
    step_id: str,
    boundary: str,
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(broken_demo_template, root)
    child = CHILDREN.Process(
        target=_run_until_killed, args=(root, runbook_id, f"{step_id}:{boundary}")
    )
    child.start()
    child.join(timeout=120)
    assert child.exitcode == -signal.SIGKILL

    case = DemoCase(root)
    try:
        (run,) = case.store.list_runs()
        assert run.status == "running"
        in_doubt = [e.step_id for e in case.store.ledger_for_run(run.id) if e.status == "started"]
        assert in_doubt == [step_id]

        report = case.resume(run.id, operator=OPERATORS[runbook_id]).run_all()

        assert report.status == "done"
        assert _counted(case) == reference_effects[runbook_id]
        assert all(e.status == "done" for e in case.store.ledger_for_run(run.id))
        assert [s.id for s in report.steps] == STEPS[runbook_id]
        settled = next(s for s in report.steps if s.id == step_id)
        if boundary == "after":
            assert (settled.status, settled.effect_count) == ("done", 0)
            assert "its check shows it took effect" in settled.message
        else:
            assert (settled.status, settled.effect_count) == ("done", 1)

        events = case.store.events("INC-1")
        assert case.store.verify("INC-1").ok
        finished = {
            e.data.get("step")
            for e in events
            if e.kind in ("step_done", "step_skipped") and e.data.get("run") == run.id
        }
        assert finished == set(STEPS[runbook_id])
        assert any(
            e.kind == "decision"
            and e.message.startswith(f"user:default/{OPERATORS[runbook_id]} resumed {run.id}")
            for e in events
        )
        assert case.store.list_leases() == []
    finally:
        case.close()


def _hold_a_run(root: Path, started: Any) -> None:
    case = DemoCase(root)
    session = case.start("model-rollback")
    session.run_step("point-champion")
    started.set()
    time.sleep(120)  # alive, holding the lease, until the test kills it
    os._exit(0)


def test_a_run_whose_process_is_alive_is_not_resumed_until_it_is_gone(
    broken_demo_template: Path, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(broken_demo_template, root)
    started = CHILDREN.Event()
    child = CHILDREN.Process(target=_hold_a_run, args=(root, started))
    child.start()
    case = DemoCase(root)
    try:
        assert started.wait(timeout=60)
        (run,) = case.store.list_runs()
        with pytest.raises(
            RunStillActive, match=rf"{run.id} is still running here: .* pid {child.pid}\)"
        ) as refused:
            case.resume(run.id, operator="erin.walsh")
        assert refused.value.alive is True
        # A written reason does not take over a live process either; the refusal is recorded.
        with pytest.raises(RunStillActive):
            case.resume(run.id, operator="erin.walsh", force_reason="ana's laptop froze")
        (asked,) = [e for e in case.store.events(run.incident_id) if e.data.get("refused")]
        assert asked.kind == "lease"
        assert "asked to take over" in asked.message and "ana's laptop froze" in asked.message
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=60)
        report = case.resume(run.id, operator="erin.walsh").run_all()
        assert report.status == "done"
        assert [s.status for s in report.steps] == ["done", "done"]
    finally:
        if child.is_alive():
            child.kill()
        child.join(timeout=60)
        case.close()
