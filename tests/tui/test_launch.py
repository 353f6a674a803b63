"""Starting the app without Typer: the same context Typer would build, or a hand-over to Typer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tui.app
from tui.context import AppContext
from tui.launch import app_context
from tui.root_command import app

PLAIN_STARTS = [
    [],
    ["-w", "ws"],
    ["--workspace", "ws"],
    ["--workspace=ws"],
    ["-wws"],
    ["-w=ws"],
    ["--as", "ana.lima"],
    ["--as=user:default/ana.lima", "-w", "first", "-w", "second"],
    ["--catalog", "a", "--catalog=b", "--lineage", "events", "--lineage=more", "--as", "x"],
]

FOR_TYPER = [
    ["--help"],
    ["owner", "demand-forecast"],
    ["-w", "ws", "graph", "stats"],
    ["-w"],
    ["--workspace="],
    ["-w", "--as"],
    ["--as", "-x"],
    ["--wor", "ws"],
    ["--", "ws"],
    ["-x"],
    ["-h"],
]


def _fields(context: AppContext) -> tuple[object, ...]:
    return (context.workspace_arg, context.catalog_args, context.lineage_args, context.as_user)


def _typer_context(args: list[str], monkeypatch: pytest.MonkeyPatch) -> AppContext:
    """The context Typer's root callback hands to the app for `args`."""
    opened: list[AppContext] = []
    monkeypatch.setattr(tui.app, "run_app", opened.append)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (context,) = opened
    return context


@pytest.mark.parametrize("args", PLAIN_STARTS, ids=" ".join)
def test_a_plain_start_gives_the_context_typer_would(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = app_context(args)
    assert ours is not None
    assert _fields(ours) == _fields(_typer_context(args, monkeypatch))


@pytest.mark.parametrize("args", FOR_TYPER, ids=" ".join)
def test_anything_but_a_plain_start_is_left_to_typer(args: list[str]) -> None:
    assert app_context(args) is None


START = """
import json, sys
import tui.app
opened = []
tui.app.run_app = opened.append
sys.argv = ["oncall", *json.loads(sys.argv[1])]
from tui.cli import main
main()
print(json.dumps({
    "workspace": str(opened[0].workspace_arg),
    "imported": [m for m in ("typer", "pydantic", "sqlalchemy", "yaml") if m in sys.modules],
}))
"""


def test_the_console_script_opens_the_app_without_importing_typer(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", START, json.dumps(["-w", str(tmp_path)])],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"workspace": str(tmp_path), "imported": []}
