"""The real `oncall` in a real terminal (tmux): it starts on the broken demo, lists the incident,
and quits on `q`. No pilot, no headless driver: what a person would see."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
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

    def wait_until(self, predicate: Callable[[str], bool], what: str, timeout: float = 180) -> str:
        """The screen once `predicate(screen)` holds."""
        found: list[str] = []

        def holds() -> bool:
            screen = self.screen()
            if "Traceback" in screen:
                raise AssertionError(f"the app crashed:\n{screen}")
            if predicate(screen):
                found.append(screen)
                return True
            return False

        try:
            _wait_for(holds, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen shows:\n{self.screen()}") from None
        return found[-1]

    def press(self, key: str) -> None:
        """One key, named as the app's footer names it (`ctrl+s` is sent as tmux's `C-s`)."""
        self.keys.append(key)
        sent = "C-" + key.removeprefix("ctrl+") if key.startswith("ctrl+") else key
        _tmux(self.socket, "send-keys", "-t", self.session, sent)

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


ASSET_NAME = "training-db"  # what the destructive step asks to be typed


def _run_with_a(term: Terminal, finished: Callable[[str], bool]) -> str:
    """On run screens: press `a` (run the remaining steps) once the steps are shown and none
    is running, type the asset's name when the destructive step asks for it, and go on until
    `finished(screen)`. A key the app refuses (a step still running) says so on screen and is
    pressed again once the app is idle: counted, like every key."""
    deadline = time.monotonic() + 300
    while True:
        assert time.monotonic() < deadline, f"stuck at:\n{term.screen()}"
        screen = term.screen()
        assert "Traceback" not in screen, screen
        if finished(screen):
            return screen
        if f"Type {ASSET_NAME}" in screen:
            term.type(ASSET_NAME)
            term.press("Enter")
            term.wait_until(lambda s: f"Type {ASSET_NAME}" not in s, "the dialog to close")
        elif "a Run rest" in screen and _next_step(screen) and "▶" not in screen:
            term.press("a")
            term.wait_until(lambda s, before=screen: _landed(s, before, finished), "a to land")
        else:
            time.sleep(0.2)


def _landed(screen: str, before: str, finished: Callable[[str], bool]) -> bool:
    """Whether a key pressed on the run screen `before` shows its effect on `screen`: a step
    running, the typed confirmation, another step or run next, the end, or a refusal."""
    import re

    def run(text: str) -> str | None:
        found = re.search(r"(RUN-\d+) · ● live", text)
        return found.group(1) if found else None

    return (
        "▶" in screen
        or f"Type {ASSET_NAME}" in screen
        or finished(screen)
        or screen.count("was not taken") > before.count("was not taken")
        or _next_step(screen) != _next_step(before)
        or run(screen) != run(before)
    )


def _reference_rows(tmp_path: Path) -> object:
    """The demo databases' audit rows after one uninterrupted `oncall recover INC-1`."""
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
    return audit_rows(reference_root / "data")


def _app_at_80x24(home: Path, root: Path, name: str) -> Terminal:
    socket = f"oncall-{name}-{uuid.uuid4().hex[:8]}"
    env = _fresh_env(home)
    command = shlex.join(
        [
            "env",
            *(f"{k}={v}" for k, v in env.items()),
            *oncall_argv("--workspace", str(root), "--as", "ana.lima"),
        ]
    )
    started = _tmux(
        socket, "new-session", "-d", "-s", name, "-x", "80", "-y", "24", "-c", str(home), command
    )
    assert started.returncode == 0, started.stderr
    return Terminal(socket, name)


def _recovered_exactly_once(home: Path, root: Path, reference: object) -> None:
    """The chain verifies, the databases changed as one `oncall recover` changes them, and a
    second `oncall recover` finds every runbook already done and changes nothing."""
    from demo.databases import audit_rows

    verified = _cli(home, "--workspace", str(root), "incident", "verify", "INC-1")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert audit_rows(root / "data") == reference  # every effect, each exactly once
    again = _cli(home, "--workspace", str(root), "--as", "ana.lima", "recover", "INC-1", "--json")
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already done by RUN-") == 4
    assert audit_rows(root / "data") == reference


def _report(what: str, term: Terminal, elapsed: float) -> None:
    print(
        f"\ndemo recovery {what} at 80x24: {len(term.keys)} key presses "
        f"({' '.join(term.keys)}) + {len(term.typed)} typed name(s) "
        f"({sum(len(t) for t in term.typed)} characters), {elapsed:.0f} s"
    )


#: The key budgets of issue #15: the whole demo recovery with the plan, and without it.
KEYS_WITH_PLAN = 12
KEYS_WITHOUT_PLAN = 20


def test_the_whole_demo_recovery_by_keyboard_through_the_plan_at_80x24(tmp_path: Path) -> None:
    """Fresh HOME, `oncall demo init` and `demo break`, then in tmux at 80x24: open INC-1, open
    the plan, run it to the end by keys (`a` on each run screen); then the CLI: the chain
    verifies and the databases changed exactly as one uninterrupted `oncall recover` changes
    them (nothing twice)."""
    reference = _reference_rows(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    root = _broken_demo(home)
    term = _app_at_80x24(home, root, "plan")
    try:
        term.wait_for("Open incidents (1)")
        began = time.monotonic()
        term.press("Enter")  # INC-1, the only open incident
        term.wait_for("c: plan")  # the run history is read: the plan is ready
        term.press("c")
        term.wait_for("Recovery plan · INC-1")
        term.press("r")
        screen = _run_with_a(term, lambda s: "Recovery plan done" in s)
        elapsed = time.monotonic() - began
        assert "4 runbook runs (RUN-1, RUN-2, RUN-3, RUN-4)" in screen
        _report("through the plan", term, elapsed)
    finally:
        _tmux(term.socket, "kill-server")
    assert len(term.keys) <= KEYS_WITH_PLAN, term.keys
    _recovered_exactly_once(home, root, reference)


def test_the_whole_demo_recovery_by_keyboard_through_the_runbook_list_at_80x24(
    tmp_path: Path,
) -> None:
    """The same recovery without the plan: INC-1's runbook list (3), each runbook the plan
    would run started from its row (the list moves to the next one not done after a run),
    its form started as filled from the alert (ctrl+s), `a`, and escape back. The same end
    state as one `oncall recover`."""
    reference = _reference_rows(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    root = _broken_demo(home)
    term = _app_at_80x24(home, root, "list")
    # (runbook, asset, keys to reach its row from where the list puts the highlight)
    walk = [
        ("training-store-partial-load", "training-db", []),
        ("model-rollback", "demand-forecast", []),
        ("feed-backout", "pricing-feed", ["Down"]),  # past reorder-recommender: clean
        ("feed-backout", "tax-feed", []),
    ]
    try:
        term.wait_for("Open incidents (1)")
        began = time.monotonic()
        term.press("Enter")
        term.wait_for("1 Impact")
        term.press("3")
        for number, (runbook, asset, moves) in enumerate(walk, start=1):
            # the list is read again after each run: its row is marked done first
            term.wait_until(
                lambda s, n=number, a=asset: s.count("✔ done") == n - 1 and f"→ {a}" in s,
                f"the runbook list with {number - 1} done",
            )
            for key in moves:
                term.press(key)
            term.press("r")
            form = term.wait_until(lambda s: "asset *" in s, "the form")
            assert f"Run {runbook} · INC-1" in form and asset in form, form
            term.press("ctrl+s")
            term.wait_for(f"RUN-{number} · ● live")
            _run_with_a(term, lambda s, n=number: f"RUN-{n} done: every step" in s)
            if number < len(walk):
                term.press("Escape")
        elapsed = time.monotonic() - began
        _report("through the runbook list", term, elapsed)
    finally:
        _tmux(term.socket, "kill-server")
    assert len(term.keys) <= KEYS_WITHOUT_PLAN, term.keys
    _recovered_exactly_once(home, root, reference)
