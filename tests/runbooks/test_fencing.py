"""Fencing: a run that lost its lease never acts again.

Two real processes drive the same run: A is frozen (SIGSTOP) inside a slow `command` step, B —
on another host (`ONCALL_HOST`) — takes the run over with `resume --force`, and A is continued
while B works. Every later effect happens exactly once, B finishes `done`, A exits 3 and the
timeline says why. And in one process: the lease taken while a destructive prompt is open means
the confirmed step does not run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from incidents.store import Store
from runbooks.errors import Fenced
from runbooks.leasing import ENV_HOST
from runbooks.prompts import ScriptPrompter
from runbooks.run_state import StepState
from tests.conftest import oncall_argv
from tests.runbooks.demo_case import DemoCase, state_url

SLOW = """\
import pathlib, sys, time
name = sys.argv[1]
here = pathlib.Path(__file__).resolve().parent.parent
with open(here / "started.log", "a") as f:
    f.write(name + "\\n")
while not (here / ("go-" + name)).exists():
    time.sleep(0.02)
with open(here / "effects.log", "a") as f:
    f.write(name + "\\n")
"""

HAS = """\
import pathlib, sys
here = pathlib.Path(__file__).resolve().parent.parent
log = here / "effects.log"
sys.exit(0 if log.exists() and sys.argv[1] in log.read_text().split() else 1)
"""

RUNBOOK = """\
id: slow-fix
title: A slow fix in three steps
version: 1
applies_to: {{types: [training-store]}}
params:
  asset: {{type: asset, required: true}}
steps:
  - id: slow
    title: The slow step
    timeout: 10m
    action: {{type: command, argv: ["{python}", bin/slow.py, slow]}}
    check: {{type: command, argv: ["{python}", bin/has.py, slow]}}
  - id: second
    title: The second step
    timeout: 10m
    action: {{type: command, argv: ["{python}", bin/slow.py, second]}}
    check: {{type: command, argv: ["{python}", bin/has.py, second]}}
  - id: third
    title: The third step
    timeout: 10m
    action: {{type: command, argv: ["{python}", bin/slow.py, third]}}
"""


def _wait_for(path: Path, line: str, process: subprocess.Popen[str]) -> None:
    """Until `path` holds `line` (the process it waits on must not have ended meanwhile)."""
    for _ in range(6000):
        if path.exists() and line in path.read_text().split():
            return
        if process.poll() is not None:
            raise AssertionError(f"exited {process.returncode}: {process.communicate()}")
        time.sleep(0.02)
    raise AssertionError(f"{line!r} never appeared in {path}")


def _oncall(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        oncall_argv("-w", str(root), *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def slow_workspace(broken_demo_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(broken_demo_template, root)
    (root / "bin").mkdir(exist_ok=True)
    (root / "bin" / "slow.py").write_text(SLOW)
    (root / "bin" / "has.py").write_text(HAS)
    case = DemoCase(root)
    try:
        case.add_runbook(RUNBOOK.format(python=sys.executable), name="slow-fix.yaml")
    finally:
        case.close()
    return root


@pytest.mark.slow
def test_a_frozen_run_taken_over_by_another_host_never_acts_again(slow_workspace: Path) -> None:
    root = slow_workspace
    started, effects = root / "started.log", root / "effects.log"
    a = _oncall(root, "--as", "ana.lima", "runbook", "run", "slow-fix", "-i", "INC-1",
                "-p", "asset=training-db", "--yes")  # fmt: skip
    b: subprocess.Popen[str] | None = None
    try:
        _wait_for(started, "slow", a)
        os.kill(a.pid, signal.SIGSTOP)  # frozen inside `slow`, its command still running
        (root / "go-slow").touch()
        for _ in range(6000):  # the command finishes; A, frozen, does not see it
            if effects.exists() and "slow" in effects.read_text().split():
                break
            time.sleep(0.02)
        b = _oncall(root, "--as", "erin.walsh", "runbook", "resume", "RUN-1", "--force",
                    "--reason", "ana's laptop froze mid-run", "--yes",
                    env={ENV_HOST: "laptop-b"})  # fmt: skip
        _wait_for(started, "second", b)  # B is working on `second` ...
        os.kill(a.pid, signal.SIGCONT)  # ... when A wakes up
        a_out, a_err = a.communicate(timeout=120)
        assert a.returncode == 3, (a_out, a_err)
        assert "fenced: RUN-1 was taken over by user:default/erin.walsh on host laptop-b" in a_err
        (root / "go-second").touch()
        (root / "go-third").touch()
        b_out, b_err = b.communicate(timeout=120)
        assert b.returncode == 0, (b_out, b_err)
        assert "RUN-1: done" in b_out
    finally:
        for process in (a, b):
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.kill()
                process.communicate()

    assert sorted(effects.read_text().split()) == ["second", "slow", "third"]  # each once
    store = Store.open(state_url(root))
    try:
        (run,) = store.list_runs(kind="runbook")
        assert run.status == "done"
        ledger = {e.step_id: e for e in store.ledger_for_run(run.id)}
        assert {k: (e.status, e.effect_count) for k, e in ledger.items()} == {
            "slow": ("done", 0),  # A's effect, settled by B's check: not repeated
            "second": ("done", 1),
            "third": ("done", 1),
        }
        assert ledger["slow"].attempts == 2  # A's attempt, then B's claim
        events = store.events("INC-1")
        fenced = [e for e in events if e.data.get("fenced")]
        assert len(fenced) == 1 and fenced[0].message.startswith(
            "fenced: RUN-1 was taken over by user:default/erin.walsh on host laptop-b"
        )
        assert store.verify("INC-1").ok
    finally:
        store.close()


class TakeOverWhileAsking(ScriptPrompter):
    """Confirms everything; while the destructive prompt is open, another host takes the run."""

    def __init__(self, take_over: object) -> None:
        super().__init__(yes=True, yes_destructive=False, lines=[])
        self.take_over = take_over
        self.asked: list[str] = []

    def can_confirm_destructive(self) -> bool:
        return True  # a person is at the prompt

    def confirm_destructive(self, step: StepState, assets: Sequence[str], text: str) -> bool:
        self.asked.append(step.id)
        self.take_over()  # type: ignore[operator]
        return True  # the operator typed the asset name, a little too late


def test_a_run_whose_lease_is_taken_while_its_destructive_prompt_is_open_does_not_run_it(
    demo: DemoCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[object] = []

    def take_over() -> None:
        monkeypatch.setenv(ENV_HOST, "laptop-b")
        taken.append(
            demo.resume(first.run_id or "", operator="ana.lima", force_reason="ana's laptop hung")
        )
        monkeypatch.delenv(ENV_HOST)

    prompter = TakeOverWhileAsking(take_over)
    first = demo.start("training-store-partial-load", prompter=prompter, yes_destructive=False)
    partial_rows = (
        "SELECT COUNT(*) FROM samples WHERE load_id IN "
        "(SELECT id FROM loads WHERE status != 'complete')"
    )
    partial = demo.query("training.db", partial_rows)
    assert partial != [(0,)]
    with pytest.raises(Fenced) as fenced:
        first.run_all()
    assert prompter.asked == ["delete-partial"]
    assert fenced.value.host is not None and fenced.value.host.startswith("laptop-b pid ")
    # pause-etl and snapshot-partial ran before the prompt; the confirmed delete did not.
    assert [(s.id, s.status) for s in first.plan()][:3] == [
        ("pause-etl", "done"),
        ("snapshot-partial", "done"),
        ("delete-partial", "pending"),
    ]
    assert demo.query("training.db", partial_rows) == partial  # nothing deleted
    (second,) = taken
    report = second.run_all()  # type: ignore[attr-defined]
    assert report.status == "done"
    assert demo.query("training.db", partial_rows) == [(0,)]
    done = {e.step_id: e.effect_count for e in demo.store.ledger_for_run(first.run_id or "")}
    assert done["delete-partial"] == 1
    fenced_events = [e for e in demo.store.events("INC-1") if e.data.get("fenced")]
    assert len(fenced_events) == 1
