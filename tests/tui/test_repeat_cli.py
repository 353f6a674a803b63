"""Repeating a finished recovery from the command line: on a terminal `oncall runbook run` says
"already done by RUN-n" and asks before starting again (default no); in a script (no terminal)
the run goes through as before, every step settled by its check, nothing changed, and it says
so. `oncall recover` on a finished recovery starts nothing and says each step is done.

The terminal is a real pseudo-terminal (`pty`): the command's stdin, stdout and stderr are its
slave end, as when a person types the command."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from pathlib import Path

from demo.databases import audit_rows
from incidents.store import Store
from tests.tui.test_recover_cli import RECOVER, broken_demo, oncall

RUN = ("--as", "ana.lima", "runbook", "run", "training-store-partial-load", "--incident", "INC-1")


def _params(root: Path) -> tuple[str, ...]:
    """The parameters the first (finished) run had: the same recovery again."""
    with Store.open(f"sqlite:///{root / '.oncall' / 'state.db'}") as store:
        run = next(
            r
            for r in store.list_runs(incident_id="INC-1")
            if r.runbook_id == "training-store-partial-load"
        )
    args: list[str] = []
    for name, value in run.params.items():
        args += ["--param", f"{name}={value}"]
    return tuple(args)


def _runs(root: Path) -> list[str]:
    with Store.open(f"sqlite:///{root / '.oncall' / 'state.db'}") as store:
        return [r.id for r in store.list_runs(incident_id="INC-1")]


def _on_a_terminal(root: Path, args: tuple[str, ...], answer: str) -> str:
    """Run `oncall` with a pseudo-terminal as its stdin/stdout/stderr; answer the first
    question with `answer`; return everything it wrote."""
    from tests.conftest import oncall_argv

    master, slave = pty.openpty()
    process = subprocess.Popen(
        oncall_argv("--workspace", str(root), *args),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    os.close(slave)
    said = b""
    answered = False
    poller = select.poll()  # not select(): a long test session's descriptors exceed 1024
    poller.register(master, select.POLLIN)
    try:
        while True:
            ready = poller.poll(120_000)
            assert ready, f"no output for 120 s:\n{said.decode(errors='replace')}"
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the command exited: the terminal is gone
                break
            if not chunk:
                break
            said += chunk
            if not answered and b"[y/N]" in said:
                os.write(master, answer.encode() + b"\r")
                answered = True
    finally:
        os.close(master)
        process.wait(timeout=120)
    assert answered, said.decode(errors="replace")
    return said.decode(errors="replace").replace("\r\n", "\n")


def _finished(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    root = tmp_path / "ws"
    broken_demo(root)
    done = oncall(root, *RECOVER)
    assert done.returncode == 0, done.stdout + done.stderr
    return root, _params(root)


def test_on_a_terminal_repeating_a_finished_runbook_says_by_which_run_and_asks_default_no(
    tmp_path: Path,
) -> None:
    root, params = _finished(tmp_path)
    runs, rows = _runs(root), audit_rows(root / "data")
    said = _on_a_terminal(root, (*RUN, *params), "")  # Enter: the default
    assert "already done by RUN-1" in said
    assert "Start it again anyway?" in said
    assert "Not started: nothing was changed." in said
    assert _runs(root) == runs  # no new run
    assert audit_rows(root / "data") == rows


def test_on_a_terminal_yes_starts_it_again_and_every_step_is_settled_by_its_check(
    tmp_path: Path,
) -> None:
    root, params = _finished(tmp_path)
    runs, rows = _runs(root), audit_rows(root / "data")
    said = _on_a_terminal(root, (*RUN, *params), "y")  # no step asks: each check holds
    assert "already done by RUN-1" in said
    assert len(_runs(root)) == len(runs) + 1
    assert ": done" in said and "run it?" not in said
    assert audit_rows(root / "data") == rows  # nothing changed


def test_in_a_script_a_finished_runbook_runs_again_changes_nothing_and_says_so(
    tmp_path: Path,
) -> None:
    root, params = _finished(tmp_path)
    runs, rows = _runs(root), audit_rows(root / "data")
    done = oncall(root, *RUN, *params, "--yes", "--yes-destructive")  # stdin is not a terminal
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already done by RUN-1" in done.stdout
    assert "no terminal to ask" in done.stdout
    assert len(_runs(root)) == len(runs) + 1
    assert audit_rows(root / "data") == rows


def test_recover_on_a_finished_recovery_starts_nothing_and_names_the_runs(tmp_path: Path) -> None:
    root, _params_unused = _finished(tmp_path)
    runs, rows = _runs(root), audit_rows(root / "data")
    again = oncall(root, *RECOVER)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("already done by RUN-") == 4
    assert "nothing was started" in again.stdout
    assert _runs(root) == runs
    assert audit_rows(root / "data") == rows
