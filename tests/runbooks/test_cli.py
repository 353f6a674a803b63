"""`oncall runbook ...` as a user types it: real subprocesses on a copy of the broken demo."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from demo.databases import DATABASES
from incidents.store import Store
from runbooks.failpoints import ENV_FAILPOINT
from tests.conftest import oncall_argv

TRAINING_PARAMS = [
    "--param",
    "asset=training-db",
    "--param",
    "since=2024-06-08T02:00:00+00:00",
    "--param",
    "day=2024-06-07",
]


@pytest.fixture
def workspace(broken_demo_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(broken_demo_template, root)
    return root


def oncall(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        oncall_argv("-w", str(root), *args),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def test_list_and_show_report_the_vetted_demo_runbooks(workspace: Path) -> None:
    listed = as_json(oncall(workspace, "runbook", "list", "--json"))
    assert [(r["id"], r["state"], r["version"]) for r in listed] == [
        ("feed-backout", "vetted", 1),
        ("model-rollback", "vetted", 1),
        ("training-store-partial-load", "vetted", 1),
    ]
    assert set(listed[0]) == {
        "id",
        "title",
        "version",
        "state",
        "file",
        "applies_to",
        "reviewer",
        "vetted_at",
        "error",
    }
    for_model = as_json(
        oncall(workspace, "runbook", "list", "--asset", "demand-forecast", "--json")
    )
    assert [r["id"] for r in for_model] == ["model-rollback"]
    shown = as_json(oncall(workspace, "runbook", "show", "training-store-partial-load", "--json"))
    assert [s["id"] for s in shown["steps"]] == [
        "pause-etl",
        "snapshot-partial",
        "delete-partial",
        "reload",
        "resume-etl",
    ]
    assert shown["params"]["since"] == {
        "type": "datetime",
        "required": True,
        "help": "when the first bad load started",
    }


def test_run_json_gives_the_run_its_status_and_each_step(workspace: Path) -> None:
    done = oncall(
        workspace,
        "--as",
        "ana.lima",
        "runbook",
        "run",
        "training-store-partial-load",
        "--incident",
        "INC-1",
        *TRAINING_PARAMS,
        "--yes",
        "--yes-destructive",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["run"], report["status"], report["incident"]) == ("RUN-1", "done", "INC-1")
    assert [(s["id"], s["status"], s["effect_count"]) for s in report["steps"]] == [
        ("pause-etl", "done", 1),
        ("snapshot-partial", "done", 1),
        ("delete-partial", "done", 1),
        ("reload", "done", 1),
        ("resume-etl", "done", 1),
    ]
    runs = as_json(oncall(workspace, "runbook", "runs", "--json"))
    assert [(r["id"], r["status"], r["ledger"]) for r in runs] == [("RUN-1", "done", {"done": 5})]


def test_a_run_killed_by_the_failpoint_is_resumed_from_the_command_line(workspace: Path) -> None:
    killed = oncall(
        workspace,
        "--as",
        "ana.lima",
        "runbook",
        "run",
        "training-store-partial-load",
        "--incident",
        "INC-1",
        *TRAINING_PARAMS,
        "--yes",
        "--yes-destructive",
        env={ENV_FAILPOINT: "delete-partial:after"},
    )
    assert killed.returncode == -signal.SIGKILL
    (run,) = as_json(oncall(workspace, "runbook", "runs", "--json"))
    assert (run["status"], run["stale"], run["ledger"]) == (
        "running",
        True,
        {"done": 2, "started": 1},
    )
    resumed = oncall(
        workspace,
        "--as",
        "ben.okafor",
        "runbook",
        "resume",
        "RUN-1",
        "--yes",
        "--yes-destructive",
        "--json",
    )
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["status"] == "done" and report["operator"] == "user:default/ben.okafor"
    assert [(s["id"], s["status"], s["effect_count"]) for s in report["steps"]] == [
        ("pause-etl", "done", 1),
        ("snapshot-partial", "done", 1),
        ("delete-partial", "done", 0),
        ("reload", "done", 1),
        ("resume-etl", "done", 1),
    ]
    verified = as_json(oncall(workspace, "incident", "verify", "INC-1", "--json"))
    assert verified["ok"] is True


def test_a_dry_run_from_the_command_line_changes_no_byte(workspace: Path) -> None:
    before = {name: (workspace / "data" / name).read_bytes() for name in DATABASES}
    done = oncall(
        workspace,
        "--as",
        "ana.lima",
        "runbook",
        "run",
        "training-store-partial-load",
        "--incident",
        "INC-1",
        *TRAINING_PARAMS,
        "--dry-run",
    )
    assert done.returncode == 0, done.stderr
    assert "DELETE FROM samples WHERE load_id IN" in done.stdout
    assert ":since = '2024-06-08T02:00:00+00:00'" in done.stdout
    assert "dry run: nothing was changed or recorded" in done.stdout
    assert {name: (workspace / "data" / name).read_bytes() for name in DATABASES} == before


def test_yes_without_yes_destructive_is_refused_before_the_first_step(workspace: Path) -> None:
    """A script that could not confirm the destructive step is refused before anything runs,
    not after it paused the ETL (the run would stop half-way, holding its changes)."""
    before = {name: (workspace / "data" / name).read_bytes() for name in DATABASES}
    done = oncall(
        workspace,
        "--as",
        "ana.lima",
        "runbook",
        "run",
        "training-store-partial-load",
        "--incident",
        "INC-1",
        *TRAINING_PARAMS,
        "--yes",
        "--json",
    )
    assert done.returncode == 2
    assert "destructive step delete-partial" in done.stderr
    assert "--yes-destructive" in done.stderr
    assert "nothing was changed" in done.stderr
    assert {name: (workspace / "data" / name).read_bytes() for name in DATABASES} == before
    runs = oncall(workspace, "runbook", "runs", "--json")
    assert runs.returncode == 0
    assert json.loads(runs.stdout) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "run",
                "model-rollback",
                "--incident",
                "INC-1",
                "--param",
                "asset=demand-forecast",
                "--param",
                "colour=red",
            ],
            "oncall: runbook 'model-rollback' has no parameter 'colour'",
        ),
        (
            [
                "run",
                "model-rollback",
                "--incident",
                "INC-1",
                "--force",
                "--param",
                "asset=demand-forecast",
            ],
            "oncall: --force needs --reason TEXT",
        ),
        (["run", "no-such-runbook", "--incident", "INC-1"], "oncall: no runbook 'no-such-runbook'"),
        (
            [
                "run",
                "model-rollback",
                "--incident",
                "INC-9",
                "--param",
                "asset=demand-forecast",
                "--param",
                "since=2024-06-08",
            ],
            "oncall: no incident INC-9",
        ),
        (["resume", "RUN-7"], "oncall: no run RUN-7"),
    ],
)
def test_mistakes_exit_2_with_one_line_and_change_nothing(
    workspace: Path, args: list[str], message: str
) -> None:
    done = oncall(workspace, "--as", "erin.walsh", "runbook", *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message), done.stderr
    assert "Traceback" not in done.stderr
    store = Store.open(f"sqlite:///{workspace / '.oncall' / 'state.db'}")
    try:
        assert store.list_runs() == []
    finally:
        store.close()


def test_an_edited_runbook_is_listed_changed_refused_and_vetted_again(workspace: Path) -> None:
    path = workspace / "runbooks" / "feed-backout.yaml"
    path.write_text(path.read_text().replace("Run it once per feed", "Run it once for each feed"))
    listed = as_json(oncall(workspace, "runbook", "list", "--json"))
    assert {r["id"]: r["state"] for r in listed}["feed-backout"] == "changed"
    refused = oncall(
        workspace,
        "--as",
        "ines.duarte",
        "runbook",
        "run",
        "feed-backout",
        "--incident",
        "INC-1",
        "--param",
        "asset=pricing-feed",
        "--param",
        "since=2024-06-08T02:00Z",
        "--yes",
    )
    assert refused.returncode == 2 and "is not vetted" in refused.stderr
    vetted = as_json(
        oncall(workspace, "runbook", "vet", str(path), "--reviewer", "lena.fischer", "--json")
    )
    assert (vetted["id"], vetted["reviewer"], vetted["version"]) == (
        "feed-backout",
        "user:default/lena.fischer",
        1,
    )
    listed = as_json(oncall(workspace, "runbook", "list", "--json"))
    assert {r["id"]: r["state"] for r in listed}["feed-backout"] == "vetted"


def test_page_prints_the_message_once_and_a_repeat_says_when_they_were_paged(
    workspace: Path,
) -> None:
    first = oncall(workspace, "--as", "ana.lima", "runbook", "page", "INC-1")
    assert first.returncode == 0, first.stderr
    assert "no notify_webhook in oncall.toml: send this to them yourself (RUN-1):" in first.stdout
    assert "INC-1: " in first.stdout and "Paged by user:default/ana.lima" in first.stdout
    assert "on call for team-data" in first.stdout
    again = as_json(oncall(workspace, "--as", "ben.okafor", "runbook", "page", "INC-1", "--json"))
    assert again["status"] == "already_paged"
    assert (again["run"], again["by"], again["delivered"]) == (
        "RUN-1",
        "user:default/ana.lima",
        "printed",
    )
    assert set(again) == {
        "incident",
        "status",
        "to",
        "message",
        "delivered",
        "at",
        "run",
        "by",
        "key",
    }
    assert {"ref", "name", "email", "reasons"} <= set(again["to"][0])
    store = Store.open(f"sqlite:///{workspace / '.oncall' / 'state.db'}")
    try:
        pages = [e for e in store.events("INC-1") if e.kind == "page"]
        assert len(pages) == 1 and pages[0].data["run"] == "RUN-1"
        assert {t["ref"] for t in again["to"]} == set(pages[0].data["to"])
    finally:
        store.close()


def test_page_for_an_unknown_incident_exits_2(workspace: Path) -> None:
    done = oncall(workspace, "runbook", "page", "INC-9")
    assert done.returncode == 2
    assert done.stderr.strip() == "oncall: no incident INC-9"


def test_resume_with_force_and_reason_takes_over_a_run_alive_elsewhere_on_the_timeline(
    workspace: Path,
) -> None:
    from tests.runbooks.demo_case import DemoCase

    case = DemoCase(workspace)
    try:
        session = case.start("model-rollback")
        session.run_step("point-champion")
        assets = session.changed_assets()
        session.abandon()
        for asset in assets:  # the run's leases, from another machine
            case.store.acquire_lease(
                asset, session.actor, "INC-1", session.run_id, 3600, "lap pid 7"
            )
    finally:
        case.close()
    refused = oncall(workspace, "--as", "hiro.tanaka", "runbook", "resume", "RUN-1", "--yes")
    assert refused.returncode == 2
    assert "may still be running on lap pid 7" in refused.stderr
    done = oncall(
        workspace,
        "--as",
        "hiro.tanaka",
        "runbook",
        "resume",
        "RUN-1",
        "--yes",
        "--force",
        "--reason",
        "erin's laptop is shut",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "done"
    store = Store.open(f"sqlite:///{workspace / '.oncall' / 'state.db'}")
    try:
        (override,) = [e for e in store.events("INC-1") if e.kind == "override"]
    finally:
        store.close()
    assert override.actor == "user:default/hiro.tanaka"
    assert "took over RUN-1, which may still be running on lap pid 7" in override.message
    assert override.data["reason"] == "erin's laptop is shut"


def test_abandon_takes_a_killed_run_off_the_resume_list_releasing_its_leases(
    workspace: Path,
) -> None:
    killed = oncall(
        workspace, "--as", "ana.lima", "runbook", "run", "training-store-partial-load",
        "--incident", "INC-1", *TRAINING_PARAMS, "--yes", "--yes-destructive",
        env={ENV_FAILPOINT: "delete-partial:before"},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    no_reason = oncall(workspace, "runbook", "abandon", "RUN-1", "--reason", " ")
    assert no_reason.returncode == 2 and "say why" in no_reason.stderr
    done = oncall(
        workspace, "--as", "ana.lima", "runbook", "abandon", "RUN-1", "--reason", "wrong day"
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        == "RUN-1 abandoned (training-store-partial-load, 2 steps done): wrong day"
    )
    (run,) = as_json(oncall(workspace, "runbook", "runs", "--json"))
    assert run["status"] == "abandoned" and run["stale"] is False
    again = oncall(workspace, "runbook", "abandon", "RUN-1", "--reason", "twice")
    assert again.returncode == 2 and "abandoned already" in again.stderr
    resumed = oncall(workspace, "runbook", "resume", "RUN-1", "--yes")
    assert resumed.returncode == 2 and "start a new run" in resumed.stderr
    store = Store.open(f"sqlite:///{workspace / '.oncall' / 'state.db'}")
    try:
        assert store.list_leases("RUN-1") == []
        event = store.events("INC-1")[-1]
        assert event.message.startswith("user:default/ana.lima abandoned RUN-1")
    finally:
        store.close()


def test_runs_says_every_step_was_skipped_for_a_rerun_with_nothing_left(workspace: Path) -> None:
    args = (
        "--as", "ana.lima", "runbook", "run", "training-store-partial-load", "--incident",
        "INC-1", *TRAINING_PARAMS, "--yes", "--yes-destructive",
    )  # fmt: skip
    assert oncall(workspace, *args).returncode == 0
    assert oncall(workspace, *args).returncode == 0
    lines = oncall(workspace, "runbook", "runs").stdout.splitlines()
    assert "no steps yet" not in lines[1]
    assert lines[1].endswith(": every step skipped (nothing left to do)")


def test_on_a_terminal_break_glass_is_asked_once_and_a_mistyped_confirmation_asks_again(
    workspace: Path,
) -> None:
    import pty

    primary, secondary = pty.openpty()  # stdin is a terminal: the CLI asks
    # Typed ahead: too short a reason, a real one; a typo in the asset name, then the name.
    os.write(primary, b"urgent\nana is unreachable since 3 AM\ntrainig-db\ntraining-db\n")
    argv = oncall_argv(
        "-w", str(workspace), "--as", "erin.walsh", "runbook", "run",
        "training-store-partial-load", "-i", "INC-1", *TRAINING_PARAMS, "--yes",
    )  # fmt: skip
    try:
        done = subprocess.run(
            argv, stdin=secondary, capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        os.close(primary)
        os.close(secondary)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "a reason needs at least 15 characters" in done.stdout
    assert "'trainig-db' is not 'training-db'; try again" in done.stdout
    assert "RUN-1: done" in done.stdout
    with Store.open(f"sqlite:///{workspace / '.oncall' / 'state.db'}") as store:
        overrides = [e for e in store.events("INC-1") if e.kind == "override"]
    assert [e.data["break_glass"] for e in overrides] == ["ana is unreachable since 3 AM"]


def test_only_the_os_users_own_ref_may_vet_unless_the_workspace_allows_impersonation(
    workspace: Path,
) -> None:
    config = workspace / "oncall.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("allow_impersonation = true", ""),
        encoding="utf-8",
    )
    done = oncall(
        workspace,
        "runbook",
        "vet",
        str(workspace / "runbooks" / "model-rollback.yaml"),
        "--reviewer",
        "maya.singh",
    )
    assert done.returncode == 2
    assert "--reviewer maya.singh: the OS user" in done.stderr
    assert "only they may vet as themselves" in done.stderr
