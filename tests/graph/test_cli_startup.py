"""`oncall owner X` stays lean: only the invoked command's module is imported, a cached catalog is
read without the YAML parser, and `oncall --help` still lists every command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from tests.conftest import DEMO_WORKSPACE, oncall_argv
from tui.commands import COMMAND_MODULES, COMMANDS

AT = "2026-11-20T12:00:00Z"
# Libraries that `oncall owner` has no use for (nor, with a cache, for the YAML parser).
HEAVY = ("sqlalchemy", "alembic", "jinja2", "textual", "httpx", "networkx", "rapidfuzz", "yaml")

PROBE = """
import json, sys
heavy = json.loads(sys.argv[2])
sys.argv = ["oncall", *json.loads(sys.argv[1])]
from tui.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}), file=sys.stderr)
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(DEMO_WORKSPACE / "catalog", tmp_path / "catalog")
    (tmp_path / "oncall.toml").write_text('name = "lean"\nlineage = []\n', encoding="utf-8")
    return tmp_path


def probe(*args: str) -> tuple[int, str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], done.stdout, report["loaded"]


def test_each_command_comes_from_the_module_the_registry_names() -> None:
    for module in COMMAND_MODULES:
        scratch = typer.Typer()
        __import__(f"tui.commands.{module}", fromlist=["register"]).register(scratch)
        registered = set(typer.main.get_group(scratch).commands)
        assert registered == {name for name, owner in COMMANDS.items() if owner == module}


def test_owner_from_the_cache_imports_neither_databases_nor_the_yaml_parser(
    workspace: Path,
) -> None:
    args = ("-w", str(workspace), "owner", "demand-forecast", "--at", AT, "--json")
    code, first, loaded = probe(*args)
    assert code == 0 and "yaml" in loaded  # the first run reads the files
    assert not set(loaded) - {"yaml", "rapidfuzz"}
    code, again, loaded = probe(*args)
    assert code == 0 and again == first
    assert loaded == []


def test_help_still_lists_every_command() -> None:
    done = subprocess.run(
        oncall_argv("--help"), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    for name in COMMANDS:
        assert f" {name} " in done.stdout


def test_a_mistyped_command_is_still_answered_with_the_closest_one() -> None:
    done = subprocess.run(
        oncall_argv("ownr", "x"), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "owner" in done.stderr
