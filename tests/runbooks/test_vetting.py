"""runbooks.lock: vetting records the exact file; any edit unvets it; authors cannot self-vet."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runbooks.library import load_library
from runbooks.schema import load_runbook
from runbooks.vetting import NotVetted, VettingError, read_lock, require_vetted, vet
from tests.runbooks.catalog_fixture import small_catalog

RUNBOOK = """\
id: say-hello
title: Say hello
version: 1
steps:
  - id: hello
    title: Hello
    assets: [training-db]
    action: {type: notify, message: hello}
"""


@pytest.fixture
def demo_workspace_copy(tmp_path: Path) -> Path:
    import shutil

    from tests.conftest import DEMO_WORKSPACE

    root = tmp_path / "demo"
    shutil.copytree(DEMO_WORKSPACE, root)
    return root


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "say-hello.yaml").write_text(RUNBOOK, encoding="utf-8")
    return tmp_path


def test_vetting_records_id_version_sha_reviewer_and_time(workspace: Path) -> None:
    file = workspace / "runbooks" / "say-hello.yaml"
    lock = workspace / "runbooks.lock"
    entry = vet(file, "user:default/bo", lock, catalog=small_catalog(workspace))
    assert (entry.id, entry.version, entry.reviewer) == ("say-hello", 1, "user:default/bo")
    assert entry.sha256 == load_runbook(file).sha256
    assert entry.file == "runbooks/say-hello.yaml"
    assert read_lock(lock) == {"say-hello": entry}
    assert lock.read_text().startswith("# runbooks.lock")
    assert lock.stat().st_mode & 0o044, "the lock is shared: readable by others"
    assert require_vetted(load_runbook(file), lock) == entry


def test_an_edited_runbook_is_changed_and_an_unlisted_one_is_unvetted(workspace: Path) -> None:
    file = workspace / "runbooks" / "say-hello.yaml"
    lock = workspace / "runbooks.lock"
    with pytest.raises(NotVetted, match=r"not in runbooks\.lock"):
        require_vetted(load_runbook(file), lock)
    vet(file, "bo", lock)
    file.write_text(RUNBOOK.replace("message: hello", "message: hello!"), encoding="utf-8")
    with pytest.raises(NotVetted, match=r"changed since bo vetted version 1"):
        require_vetted(load_runbook(file), lock)
    (workspace / "runbooks" / "broken.yaml").write_text("id: [\n", encoding="utf-8")
    states = {e.path.name: e.state for e in load_library(workspace / "runbooks", lock).entries}
    assert states == {"broken.yaml": "invalid", "say-hello.yaml": "changed"}


def test_a_reviewer_may_not_vet_a_runbook_they_last_changed(workspace: Path) -> None:
    git(workspace, "init", "-q")
    git(workspace, "config", "user.name", "Ana Lima")
    git(workspace, "config", "user.email", "ana@example.com")
    git(workspace, "add", "runbooks")
    git(workspace, "commit", "-q", "-m", "add runbook")
    catalog = small_catalog(workspace)
    file = workspace / "runbooks" / "say-hello.yaml"
    lock = workspace / "runbooks.lock"
    with pytest.raises(
        VettingError, match=r"user:default/ana last changed .* Ana Lima <ana@example.com>"
    ):
        vet(file, "ana", lock, catalog=catalog)
    assert not lock.exists()
    assert vet(file, "bo", lock, catalog=catalog).reviewer == "user:default/bo"
    git(workspace, "config", "user.email", "bo@example.com")
    git(workspace, "config", "user.name", "Bo Chen")
    file.write_text(RUNBOOK.replace("hello}", "hi}"), encoding="utf-8")  # uncommitted edit by Bo
    with pytest.raises(VettingError, match="last changed"):
        vet(file, "bo", lock, catalog=catalog)


def test_an_unknown_reviewer_or_a_malformed_lock_is_an_error(workspace: Path) -> None:
    file = workspace / "runbooks" / "say-hello.yaml"
    lock = workspace / "runbooks.lock"
    with pytest.raises(
        VettingError, match=r"--reviewer nobody: no person named 'nobody' in the catalog"
    ):
        vet(file, "nobody", lock, catalog=small_catalog(workspace))
    with pytest.raises(VettingError, match="is a group, not a user"):
        vet(file, "data-platform", lock, catalog=small_catalog(workspace))
    lock.write_text("runbooks: [1, 2\n", encoding="utf-8")
    with pytest.raises(VettingError, match=r"runbooks\.lock:2: invalid YAML"):
        read_lock(lock)


def test_a_script_a_vetted_step_runs_is_part_of_the_vetting(demo_workspace_copy: Path) -> None:
    root = demo_workspace_copy
    lock = root / "runbooks.lock"
    runbook = load_runbook(root / "runbooks" / "training-store-partial-load.yaml")
    entry = read_lock(lock)[runbook.id]
    assert set(entry.scripts) == {"bin/nightly_etl.py"}
    assert require_vetted(runbook, lock) == entry
    script = root / "bin" / "nightly_etl.py"
    script.write_text(script.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(NotVetted, match=r"bin/nightly_etl.py, which it runs, changed since"):
        require_vetted(runbook, lock)
    states = {
        e.runbook.id: e.state for e in load_library(root / "runbooks", lock).entries if e.runbook
    }
    assert states[runbook.id] == "changed"


def test_vet_records_the_os_user_and_host_that_ran_it(workspace: Path) -> None:
    import getpass

    from runbooks.leasing import machine_name

    file = workspace / "runbooks" / "say-hello.yaml"
    lock = workspace / "runbooks.lock"
    entry = vet(file, "user:default/bo", lock, catalog=small_catalog(workspace))
    assert entry.vetted_by == f"{getpass.getuser()}@{machine_name()}"
    assert read_lock(lock)["say-hello"].vetted_by == entry.vetted_by
