"""`oncall --version` and Typer's shell completion, through the real command line in a subprocess."""

from __future__ import annotations

import os
import subprocess
from importlib.metadata import version
from pathlib import Path

from tests.conftest import oncall_argv
from tui.launch import app_context
from tui.version import __version__


def _oncall(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        oncall_argv(*args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def test_version_prints_the_version_of_the_installed_distribution() -> None:
    result = _oncall("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"oncall {__version__}\n"
    assert version("oncall") == __version__, "pyproject.toml reads the version from tui/version.py"


def test_version_is_read_by_typer_not_by_the_fast_start_path() -> None:
    assert app_context(["--version"]) is None
    assert app_context(["-w", "ws", "--version"]) is None


def test_version_answers_before_any_workspace_is_looked_at(tmp_path: Path) -> None:
    result = _oncall("-w", str(tmp_path / "absent"), "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"oncall {__version__}\n"


def test_bash_completes_commands_and_sub_commands_instead_of_opening_the_app() -> None:
    top = _oncall(
        env={"_ONCALL_COMPLETE": "complete_bash", "COMP_WORDS": "oncall inc", "COMP_CWORD": "1"}
    )
    assert top.returncode == 0, top.stderr
    assert top.stdout.split() == ["incident"]
    sub = _oncall(
        env={
            "_ONCALL_COMPLETE": "complete_bash",
            "COMP_WORDS": "oncall runbook ",
            "COMP_CWORD": "2",
        }
    )
    assert {"list", "show", "vet", "run", "runs"} <= set(sub.stdout.split())


def test_zsh_completion_lists_options_with_their_help() -> None:
    result = _oncall(
        env={"_ONCALL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "oncall --ver"}
    )
    assert result.returncode == 0, result.stderr
    assert '"--version":"Print the version and exit."' in result.stdout


def test_show_and_install_completion_for_bash(tmp_path: Path) -> None:
    shown = _oncall("--show-completion", "bash")
    assert shown.returncode == 0, shown.stderr
    assert "_ONCALL_COMPLETE=complete_bash" in shown.stdout
    assert "complete -o default -F _oncall_completion oncall" in shown.stdout

    installed = _oncall("--install-completion", "bash", env={"HOME": str(tmp_path)})
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "oncall.sh"
    assert script.read_text() in shown.stdout + "\n"
    assert str(script) in (tmp_path / ".bashrc").read_text()
