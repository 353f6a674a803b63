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


# --- the whole demo recovery, by keyboard, at 80x24 --------------------------------------------


class Terminal:
    """The real `oncall` in a tmux pane, driven as a person would: a key, then wait until the
    screen says the key landed (never a fixed sleep). Counts what was pressed: `keys` are key
    presses, `typed` the texts typed into an input (each also counted by character)."""

    def __init__(self, socket: str, session: str) -> None:
        self.socket = socket
        self.session = session
        self.keys: list[str] = []
        self.typed: list[str] = []

    def screen(self) -> str:
        return _tmux(self.socket, "capture-pane", "-p", "-t", self.session).stdout

    def wait_for(self, text: str, timeout: float = 120) -> str:
        """The screen once `text` is on it (generous: the machine may be busy)."""
        found: list[str] = []

        def shown() -> bool:
            screen = self.screen()
            if "Traceback" in screen:
                raise AssertionError(f"the app crashed:\n{screen}")
            if text in screen:
                found.append(screen)
                return True
            return False

        try:
            _wait_for(shown, timeout, repr(text))
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen shows:\n{self.screen()}") from None
        return found[-1]

    def settled(self, text: str, timeout: float = 120) -> str:
        """The screen once `text` is on it and nothing moved for half a second: a key pressed
        while the app still finishes the last one (a step's worker closing) can be dropped."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            screen = self.wait_for(text, max(1.0, deadline - time.monotonic()))
            if screen == last:
                return screen
            assert time.monotonic() < deadline, f"never settled:\n{screen}"
            last = screen
            time.sleep(0.5)

    def press(self, key: str) -> None:
        self.keys.append(key)
        _tmux(self.socket, "send-keys", "-t", self.session, key)

    def type(self, text: str) -> None:
        self.typed.append(text)
        _tmux(self.socket, "send-keys", "-t", self.session, "-l", text)


def _fresh_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ONCALL_"))}
    env["HOME"] = str(home)
    return env


def _broken_demo(home: Path) -> Path:
    """`oncall demo init` + `oncall demo break` in `home` (as HOME): the demo with INC-1 open.
    (With no workspace, a fresh HOME's first `oncall` makes and breaks the demo by itself.)"""
    root = home / "demo"
    for args in (("demo", "init", str(root)), ("--workspace", str(root), "demo", "break")):
        done = _cli(home, *args)
        assert done.returncode == 0, done.stderr
    return root


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        oncall_argv(*args),
        capture_output=True,
        text=True,
        timeout=300,
        env=_fresh_env(home),
        cwd=home,
        check=False,
    )
    return done


def _next_step(screen: str) -> str | None:
    """The run screen's `Next: <step> · …` line, or None."""
    import re

    found = re.search(r"Next: (\S+) ·", screen)
    return found.group(1) if found else None


def test_the_whole_demo_recovery_by_keyboard_through_the_plan_at_80x24(tmp_path: Path) -> None:
    """Fresh HOME, `oncall demo init` and `demo break`, then in tmux at 80x24: open INC-1, open the plan, run
    it to the end by keys; then the CLI: the chain verifies and the databases changed exactly
    as one uninterrupted `oncall recover` changes them (nothing twice)."""
    from demo.databases import audit_rows

    reference_home = tmp_path / "reference"
    reference_home.mkdir()
    reference_root = _broken_demo(reference_home)
    recovered = _cli(
        reference_home,
        *("--workspace", str(reference_root), "--as", "ana.lima", "recover", "INC-1"),
        *("--yes", "--yes-destructive"),
    )
    assert recovered.returncode == 0, recovered.stderr
    reference = audit_rows(reference_root / "data")

    home = tmp_path / "home"
    home.mkdir()
    root = _broken_demo(home)
    socket = f"oncall-walk-{uuid.uuid4().hex[:8]}"
    env = _fresh_env(home)
    command = shlex.join(
        [
            "env",
            *(f"{k}={v}" for k, v in env.items()),
            *oncall_argv("--workspace", str(root), "--as", "ana.lima"),
        ]
    )
    started = _tmux(
        socket, "new-session", "-d", "-s", "walk", "-x", "80", "-y", "24", "-c", str(home), command
    )
    assert started.returncode == 0, started.stderr
    term = Terminal(socket, "walk")
    try:
        term.wait_for("Open incidents (1)")
        began = time.monotonic()
        term.press("Enter")  # INC-1, the only open incident
        term.wait_for("c: plan")  # the run history is read: the plan is ready
        term.press("c")
        term.wait_for("Recovery plan · INC-1")
        term.press("r")
        screen = term.wait_for("Plan step 1 of 4")
        shown = term.wait_for("Next: ")
        while "Recovery plan done" not in screen:
            confirming = "Type training-db" in shown
            if confirming:
                term.type("training-db")
                term.press("Enter")
            else:
                shown = term.settled("Next: ")
                before = _next_step(shown)
                term.press("x")
            # the key landed once the screen moved on: another step next, the typed
            # confirmation, or the plan finished
            deadline = time.monotonic() + 180
            while True:
                assert time.monotonic() < deadline, f"stuck at:\n{term.screen()}"
                screen = term.screen()
                assert "Traceback" not in screen, screen
                now = _next_step(screen)
                if "Recovery plan done" in screen:
                    break
                if "Type training-db" in screen and not confirming:  # the typed confirmation
                    break
                moved = now is not None and now != before
                if moved and "Type training-db" not in screen and "▶ running" not in screen:
                    break
                time.sleep(0.2)
            shown = screen
        elapsed = time.monotonic() - began
        assert "4 runbook runs (RUN-1, RUN-2, RUN-3, RUN-4)" in screen
        print(
            f"\ndemo recovery through the plan at 80x24: {len(term.keys)} key presses "
            f"({' '.join(term.keys)}) + {len(term.typed)} typed name(s) "
            f"({sum(len(t) for t in term.typed)} characters), {elapsed:.0f} s"
        )
    finally:
        _tmux(socket, "kill-server")

    verified = _cli(home, "--workspace", str(root), "incident", "verify", "INC-1")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert audit_rows(root / "data") == reference  # every effect, each exactly once
    again = _cli(home, "--workspace", str(root), "--as", "ana.lima", "recover", "INC-1", "--json")
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already done by RUN-") == 4
    assert audit_rows(root / "data") == reference
