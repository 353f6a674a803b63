"""Read-only use: a workspace nobody may write can still be looked at; a write says so, exit 2.

Everything here runs as root, and root writes through file permissions, so the workspace is made
read-only the way root cannot undo: a read-only bind mount of it inside a private mount namespace
(`unshare -m`), for the one command under test. The SQLite store is then opened with `mode=ro`
(its folder cannot hold -wal/-shm files, so `immutable=1` too) and every write is refused before
it reaches the file. The checks afterwards, outside the namespace, prove nothing changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from incidents.errors import ReadOnlyStore
from incidents.store import Store
from tests.conftest import REPO_ROOT, oncall_argv
from tests.runbooks.conftest import FIXED_NOW
from tests.runbooks.demo_case import build_broken_demo, state_url

READ_ONLY_MOUNT = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'


def _can_unshare() -> bool:
    probe = (
        subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False, timeout=30)
        if shutil.which("unshare")
        else None
    )
    return probe is not None and probe.returncode == 0


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _can_unshare():
        if os.environ.get("CI"):
            pytest.fail("unshare -m is needed for the read-only tests and is not available")
        pytest.skip("needs `unshare -m` (root in a mount namespace) for a read-only bind mount")
    return build_broken_demo(tmp_path_factory.mktemp("ro") / "ws", FIXED_NOW)


@pytest.fixture
def workspace(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    return root


def read_only(root: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv` with `root` mounted read-only (for that process only)."""
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", READ_ONLY_MOUNT, "sh", str(root), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )


def oncall(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return read_only(root, oncall_argv("--workspace", str(root), *args))


def fingerprint(root: Path) -> dict[str, str]:
    """Every file under the workspace and its digest: the proof that nothing was written."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    "args",
    [
        ("incident", "list"),
        ("incident", "show", "INC-1"),
        ("incident", "verify", "INC-1"),
        ("runbook", "list"),
        ("runbook", "show", "training-store-partial-load"),
        ("runbook", "runs"),
        ("owner", "training-db"),
        ("impact", "training-db"),
        (
            "--as",
            "ana.lima",
            "runbook",
            "run",
            "training-store-partial-load",
            "--incident",
            "INC-1",
            "--dry-run",
            "--param",
            "asset=training-db",
            "--param",
            "since=2024-06-08T02:00:00+00:00",
            "--param",
            "day=2024-06-07",
        ),
    ],
    ids=lambda args: " ".join(
        a for a in args if not a.startswith(("--", "asset=", "since=", "day="))
    ),
)
def test_looking_works_on_a_read_only_workspace(workspace: Path, args: tuple[str, ...]) -> None:
    before = fingerprint(workspace)
    result = oncall(workspace, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "Traceback" not in result.stderr
    assert fingerprint(workspace) == before


def test_the_read_only_mount_is_real(workspace: Path) -> None:
    result = read_only(workspace, ["sh", "-c", f"touch '{workspace}/x' || chmod 777 '{workspace}'"])
    assert result.returncode != 0, "root could write through the read-only bind mount"
    assert not (workspace / "x").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("incident", "note", "INC-1", "looking"),
        ("incident", "ack", "INC-1"),
        ("incident", "open", "another", "--asset", "training-db"),
        (
            "--as",
            "ana.lima",
            "runbook",
            "run",
            "training-store-partial-load",
            "--incident",
            "INC-1",
            "--yes",
            "--yes-destructive",
            "--param",
            "asset=training-db",
            "--param",
            "since=2024-06-08T02:00:00+00:00",
            "--param",
            "day=2024-06-07",
        ),
    ],
    ids=["note", "ack", "open", "run"],
)
def test_a_write_says_read_only_nothing_was_changed(workspace: Path, args: tuple[str, ...]) -> None:
    before = fingerprint(workspace)
    result = oncall(workspace, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("oncall: read-only: nothing was changed"), line
    assert fingerprint(workspace) == before


def test_a_postmortem_in_a_read_only_workspace_says_so_and_can_still_be_printed(
    workspace: Path,
) -> None:
    before = fingerprint(workspace)
    refused = oncall(workspace, "postmortem", "INC-1")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("oncall: read-only: nothing was written ("), line
    assert "--out -" in line
    printed = oncall(workspace, "postmortem", "INC-1", "--out", "-")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("# ")
    assert fingerprint(workspace) == before


def test_vetting_in_a_read_only_workspace_is_one_line(workspace: Path) -> None:
    runbook = workspace / "runbooks" / "feed-backout.yaml"
    result = oncall(workspace, "runbook", "vet", str(runbook), "--reviewer", "ben.okafor")
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "read-only: nothing was changed" in line and "runbooks.lock" in line
    assert "Traceback" not in result.stderr


APP_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from tui.app import OncallApp
    from tui.context import AppContext

    async def main() -> None:
        app = OncallApp(AppContext(workspace_arg=Path(sys.argv[1]), as_user="ana.lima"))
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(1200):  # up to a minute on a loaded machine
                await pilot.pause(0.05)
                if app.sub_title == "read-only" and len(app._notifications):
                    break
            print("sub_title:", app.sub_title)
            print("workspace:", app.workspace_name)
            print("notes:", " | ".join(str(n.message) for n in app._notifications))
            print("incidents:", app.backend.list_incidents()[0].id)

    asyncio.run(main())
    """
)


def test_the_app_opens_read_only_and_says_so(workspace: Path) -> None:
    result = read_only(workspace, [sys.executable, "-c", APP_SCRIPT, str(workspace)])
    assert result.returncode == 0, result.stderr
    assert "sub_title: read-only" in result.stdout
    assert "· read-only" in result.stdout
    assert "read-only: nothing was changed" in result.stdout
    assert "incidents: INC-1" in result.stdout


def test_a_store_opened_read_only_reads_and_refuses_every_write(tmp_path: Path) -> None:
    root = build_broken_demo(tmp_path / "ws", FIXED_NOW)
    database = root / ".oncall" / "state.db"
    with Store.open(state_url(root), read_only=True) as store:
        assert store.read_only
        assert store.verify("INC-1").ok
        events = len(store.events("INC-1"))
        with pytest.raises(ReadOnlyStore, match=r"^read-only: nothing was changed"):
            store.append_event("INC-1", "note", "hello", "user:default/root")
    with Store.open(state_url(root)) as store:
        assert not store.read_only
        assert len(store.events("INC-1")) == events
    assert database.exists()
