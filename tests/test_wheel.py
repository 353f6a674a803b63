"""The wheel works on its own: built from the checkout, installed in a fresh venv elsewhere, it
runs `oncall --version`, sets up and breaks the demo, and runs a recovery runbook to the end.

Everything the commands need at run time (migrations, templates, the demo workspace, the `.tcss`)
must be inside the wheel: the commands run from a folder outside the checkout, the checkout is not
on `sys.path`, and the test checks that oncall's modules were imported from the new venv.

The build is offline: hatchling comes with the test extras (no build isolation, no index). The
new venv gets oncall from the wheel only; its third-party dependencies are borrowed from the
environment running the tests through a `.pth` line, so no package index is needed. That line adds
plain folders to `sys.path` without processing their `.pth` files, so the editable install of
the checkout is not reachable from the new venv.
"""

from __future__ import annotations

import os
import shlex
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tui.version import __version__

pytestmark = pytest.mark.slow


def _run(argv: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=300, **kwargs
    )
    assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result


def _fresh_venv(where: Path) -> tuple[Path, Path]:
    """A venv without pip at `where`: (its python, its site-packages)."""
    _run([sys.executable, "-m", "venv", "--without-pip", where])
    python = where / "bin" / "python"
    purelib = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).stdout.strip()
    return python, Path(purelib)


def test_the_wheel_installed_outside_the_checkout_runs_the_demo_and_a_recovery(
    tmp_path: Path,
) -> None:
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip"]
    offline = ["--quiet", "--no-deps", "--no-index"]
    _run([*pip, "wheel", *offline, "--no-build-isolation", "--wheel-dir", dist, REPO_ROOT])
    (wheel,) = dist.glob("oncall-*.whl")
    assert wheel.name.startswith(f"oncall-{__version__}-")

    python, site_packages = _fresh_venv(tmp_path / "venv")
    _run([*pip, "--python", python, "install", *offline, wheel])
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    ours |= set(site.getsitepackages())
    (site_packages / "borrowed_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONCALL_", "PYTHON"))}
    env |= {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "data")}
    oncall = tmp_path / "venv" / "bin" / "oncall"

    where = _run(
        [python, "-c", "import demo, incidents, tui, workspace; print(tui.__file__)"],
        cwd=elsewhere,
        env=env,
    ).stdout.strip()
    assert Path(where).is_relative_to(site_packages), "oncall was not imported from the wheel"
    assert not Path(where).is_relative_to(REPO_ROOT)

    assert _run([oncall, "--version"], cwd=elsewhere, env=env).stdout == f"oncall {__version__}\n"

    workspace = tmp_path / "demo"
    _run([oncall, "demo", "init", workspace], cwd=elsewhere, env=env)
    env["ONCALL_WORKSPACE"] = str(workspace)
    broken = _run([oncall, "demo", "break"], cwd=elsewhere, env=env).stdout
    recovery = [line for line in broken.split("recover with:", 1)[1].split("\n") if line.strip()]
    assert shlex.split(recovery[0]) == ["oncall", "--as", "ana.lima", "recover", "INC-1"]
    # under the one command, the runbook commands it runs: run the first by hand
    first = shlex.split(next(line for line in recovery if " runbook run " in line))
    assert first[0] == "oncall" and "runbook" in first and "run" in first

    ran = _run([oncall, *first[1:]], cwd=elsewhere, env=env).stdout
    assert "\nRUN-1: done\n" in ran, ran
    verified = _run([oncall, "incident", "verify", "INC-1"], cwd=elsewhere, env=env).stdout
    assert "hash chain verified" in verified
    draft = _run([oncall, "postmortem", "INC-1", "--out", "-"], cwd=elsewhere, env=env).stdout
    assert "INC-1" in draft and "training-store-partial-load" in draft
    # The app's stylesheet and the postmortem template travelled too.
    installed = site_packages
    assert (installed / "tui" / "app.tcss").is_file()
    assert (installed / "postmortems" / "templates" / "postmortem.md.j2").is_file()
    assert list((installed / "incidents" / "migrations" / "versions").glob("0*.py"))
