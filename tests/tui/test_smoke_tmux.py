"""The real `oncall` in a real terminal (tmux): it starts on the broken demo, lists the incident,
and quits on `q`. No pilot, no headless driver: what a person would see."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import oncall_argv

TMUX = shutil.which("tmux")
# Locally a machine without tmux skips; under CI (.ci/run installs tmux) a missing tmux fails.
pytestmark = pytest.mark.skipif(
    TMUX is None and not os.environ.get("CI"), reason="tmux is not installed"
)


def _tmux(socket: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert TMUX is not None
    return subprocess.run(
        [TMUX, "-L", socket, *args], capture_output=True, text=True, timeout=10, check=False
    )


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_oncall_starts_in_tmux_lists_the_demo_incident_and_quits_on_q(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    for args in (("demo", "init", str(root)), ("--workspace", str(root), "demo", "break")):
        done = subprocess.run(oncall_argv(*args), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    socket = f"oncall-smoke-{uuid.uuid4().hex[:8]}"
    command = shlex.join(oncall_argv("--workspace", str(root), "--as", "ana.lima"))
    started = _tmux(socket, "new-session", "-d", "-s", "smoke", "-x", "100", "-y", "30", command)
    assert started.returncode == 0, started.stderr
    try:

        def screen() -> str:
            return _tmux(socket, "capture-pane", "-p", "-t", "smoke").stdout

        _wait_for(lambda: "Open incidents (1)" in screen(), 60, "the incident list")
        shown = screen()
        assert "INC-1" in shown
        assert "▲▲ SEV1" in shown
        assert "● open" in shown
        assert "demo · as ana.lima" in shown
        assert "Traceback" not in shown
        _tmux(socket, "send-keys", "-t", "smoke", "q")
        _wait_for(
            lambda: _tmux(socket, "has-session", "-t", "smoke").returncode != 0,
            20,
            "the app to quit",
        )
    finally:
        _tmux(socket, "kill-server")


def test_the_whole_demo_recovery_by_keys_in_tmux_at_80x24(tmp_path: Path) -> None:
    """Open INC-1, recover the training store (typing the asset's name once), roll the model
    back, mark mitigated, save the postmortem: each key sent only once the screen shows what
    it answers, the way a person reads before pressing. Prints the keys and the time."""
    root = tmp_path / "demo"
    for args in (("demo", "init", str(root)), ("--workspace", str(root), "demo", "break")):
        done = subprocess.run(oncall_argv(*args), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    socket = f"oncall-walk-{uuid.uuid4().hex[:8]}"
    command = shlex.join(oncall_argv("--workspace", str(root), "--as", "ana.lima"))
    started = _tmux(socket, "new-session", "-d", "-s", "walk", "-x", "80", "-y", "24", command)
    assert started.returncode == 0, started.stderr
    keys: list[str] = []

    def screen() -> str:
        return _tmux(socket, "capture-pane", "-p", "-t", "walk").stdout

    def press(*sent: str, then: str, timeout: float = 60) -> None:
        for key in sent:
            _tmux(socket, "send-keys", "-t", "walk", key)
            keys.append(key)
        _wait_for(lambda: then in screen(), timeout, f"{then!r} after {sent}")
        assert "Traceback" not in screen()

    def type_name(text: str, then: str) -> None:
        _tmux(socket, "send-keys", "-t", "walk", "-l", text)
        keys.extend(text)
        _wait_for(lambda: then in screen(), 30, then)

    try:
        _wait_for(lambda: "Open incidents (1)" in screen(), 60, "the incident list")
        began = time.monotonic()
        press("Enter", then="training-db feeds")
        _wait_for(lambda: "r Run" in screen(), 60, "the runbooks to load")
        press("r", then="Start ^s")
        press("C-s", then="Next: pause-etl")
        press("x", then="Next: snapshot-partial")
        press("x", then="Next: delete-partial")
        press("x", then="Type training-db to run it")
        type_name("training-db", then="training-db")
        press("Enter", then="Next: reload")
        press("x", then="Next: resume-etl")
        press("x", then="done: every step is done or skipped")
        press("Escape", then="Incident INC-1")
        time.sleep(1.5)  # a person reads the incident again; its runs reload meanwhile
        press("r", then="Run model-rollback")  # the next suggestion not done is highlighted
        press("C-s", then="Next: point-champion")
        press("x", then="Next: quarantine-bad")
        press("x", then="done: every step is done or skipped")
        press("Escape", then="Incident INC-1")
        press("m", then="Mark mitigated INC-1?")
        press("y", then="◑ mitigated")
        press("P", then="s saves it as")
        press("s", then="Saved")
        elapsed = time.monotonic() - began
        named = len("training-db")
        print(
            f"\ndemo recovery in tmux at 80x24: {len(keys)} keys ({len(keys) - named} without "
            f"typing the asset's name), {elapsed:.1f} s: {' '.join(keys)}"
        )
        assert len(keys) - named <= 20
    finally:
        _tmux(socket, "kill-server")
