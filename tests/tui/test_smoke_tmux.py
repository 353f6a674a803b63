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
