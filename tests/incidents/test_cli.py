"""`oncall incident …` end to end: a tiny workspace in tmp_path, the real command line."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import oncall_argv
from tui.cli import main

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: data-platform
spec:
  type: team
  children: []
  members: [alice]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: alice
spec:
  profile: {displayName: Alice Example, email: alice@example.com}
  memberOf: [data-platform]
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: training-db
  title: Training database
spec:
  type: training-store
  owner: data-platform
"""

INCIDENT_KEYS = [
    "id",
    "title",
    "severity",
    "status",
    "asset",
    "commander",
    "opened_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
]


def make_workspace(root: Path, database_url: str | None = None) -> Path:
    (root / "catalog").mkdir(parents=True)
    (root / "catalog" / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    config = 'name = "tiny"\nlineage = []\nallow_impersonation = true\n'
    if database_url:
        config += f'database_url = "{database_url}"\n'
    (root / "oncall.toml").write_text(config, encoding="utf-8")
    return root


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONCALL_USER", "user:default/alice")
    monkeypatch.delenv("ONCALL_WORKSPACE", raising=False)
    return make_workspace(tmp_path / "ws")


class Oncall:
    """Runs `oncall -w WORKSPACE …` in this process through `tui.cli.main`, as the console
    script does, and returns (exit code, stdout, stderr)."""

    def __init__(
        self, workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.workspace = workspace
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.monkeypatch.setattr(sys, "argv", ["oncall", "-w", str(self.workspace), *args])
        with pytest.raises(SystemExit) as exited:
            main()
        captured = self.capsys.readouterr()
        code = exited.value.code
        return (code if isinstance(code, int) else 1), captured.out, captured.err

    def json(self, *args: str) -> object:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def oncall(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Oncall:
    return Oncall(workspace, monkeypatch, capsys)


def test_opening_an_incident_resolves_the_asset_and_prints_its_id(oncall: Oncall) -> None:
    code, out, _ = oncall(
        "incident", "open", "Partial loads", "--asset", "Training-DB", "-s", "sev1"
    )
    assert code == 0
    assert out.splitlines()[0] == "opened INC-1 [SEV1] Partial loads"
    assert "resource:default/training-db" in out


def test_show_json_has_exactly_the_documented_keys(oncall: Oncall) -> None:
    oncall("incident", "open", "Partial loads", "--asset", "training-db", "--commander", "alice")
    oncall("incident", "note", "INC-1", "ops-db load 4 of 4 half-written")
    shown = oncall.json("incident", "show", "INC-1")
    assert isinstance(shown, dict)
    assert list(shown) == [*INCIDENT_KEYS, "events", "chain"]
    assert shown["chain"] == {"ok": True, "first_bad": None, "reason": None}
    assert (shown["severity"], shown["status"], shown["commander"]) == (
        "SEV2",
        "open",
        "user:default/alice",
    )
    assert shown["opened_at"].endswith("Z") and shown["acknowledged_at"] is None
    assert [list(e) for e in shown["events"]] == [
        ["id", "at", "actor", "kind", "message", "data", "hash", "os_user", "host", "impersonated"]
    ] * 2
    # alice is not the OS user's [operators] ref: the workspace allows acting as her, and says so
    assert all(e["os_user"] and e["host"] and e["impersonated"] is True for e in shown["events"])
    note = shown["events"][1]
    assert (note["kind"], note["actor"], note["message"]) == (
        "note",
        "user:default/alice",
        "ops-db load 4 of 4 half-written",
    )


def test_the_actor_is_the_operator_from_as_then_the_environment(oncall: Oncall) -> None:
    oncall("incident", "open", "Partial loads", "--asset", "training-db")
    oncall("--as", "user:default/bob", "incident", "ack", "1")
    events = oncall.json("incident", "show", "1")["events"]  # type: ignore[index]
    assert [e["actor"] for e in events] == ["user:default/alice", "user:default/bob"]


def test_an_unknown_asset_suggests_the_closest_and_writes_nothing(
    oncall: Oncall, workspace: Path
) -> None:
    code, _, err = oncall("incident", "open", "Partial loads", "--asset", "traning-db")
    assert code == 2
    assert err.strip() == (
        "oncall: no asset named 'traning-db'; did you mean: resource:default/training-db?"
    )
    assert not (workspace / ".oncall" / "state.db").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--asset", "alice", "'alice' is user:default/alice, a user, not an asset"),
        ("--commander", "data-platform", "group:default/data-platform is a group, not a user"),
        ("--severity", "SEV9", "unknown severity 'SEV9'"),
    ],
)
def test_the_wrong_kind_of_entity_or_severity_is_refused(
    oncall: Oncall, option: str, value: str, message: str
) -> None:
    args = ["incident", "open", "Partial loads", "--asset", "training-db", option, value]
    if option == "--asset":
        args = ["incident", "open", "Partial loads", option, value]
    code, _, err = oncall(*args)
    assert code == 2
    assert message in err
    assert oncall.json("incident", "list", "--all") == []


def test_status_moves_forward_and_a_backwards_move_is_refused(oncall: Oncall) -> None:
    oncall("incident", "open", "Partial loads", "--asset", "training-db")
    for command, status in [("ack", "acknowledged"), ("mitigate", "mitigated")]:
        code, out, _ = oncall("incident", command, "inc-1")
        assert code == 0
        assert out.startswith(f"INC-1 {status} at ") and out.splitlines()[0].endswith(
            "by user:default/alice"
        )
    code, _, err = oncall("incident", "ack", "INC-1")
    assert (code, err.strip()) == (
        2,
        "oncall: INC-1 cannot become acknowledged: it is mitigated, and status never moves backwards",
    )
    assert oncall("incident", "resolve", "INC-1")[0] == 0
    shown = oncall.json("incident", "show", "INC-1")
    assert isinstance(shown, dict) and shown["status"] == "resolved"
    assert [e["kind"] for e in shown["events"]] == ["status"] * 4


def test_list_shows_open_incidents_and_all_with_all(oncall: Oncall) -> None:
    assert (
        oncall("incident", "list")[1].strip() == "no open incidents (--all includes resolved ones)"
    )
    oncall("incident", "open", "First", "--asset", "training-db")
    oncall("incident", "open", "Second", "--asset", "training-db", "-s", "SEV1")
    oncall("incident", "resolve", "INC-1")
    code, out, _ = oncall("incident", "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].split() == ["ID", "SEV", "STATUS", "AGE", "ASSET", "TITLE"]
    assert lines[1].split()[:3] == ["INC-2", "SEV1", "open"]
    listed = oncall.json("incident", "list", "--all")
    assert isinstance(listed, list)
    assert [(i["id"], i["status"]) for i in listed] == [("INC-2", "open"), ("INC-1", "resolved")]
    assert list(listed[0]) == INCIDENT_KEYS


def test_show_prints_the_incident_and_its_timeline(oncall: Oncall) -> None:
    oncall("incident", "open", "Partial loads", "--asset", "training-db")
    oncall("incident", "note", "1", "looking at ops-db")
    code, out, _ = oncall("incident", "show", "1")
    assert code == 0
    assert out.splitlines()[0] == "INC-1  SEV2  open  Partial loads"
    assert "timeline (2 events, times in UTC)" in out
    assert out.splitlines()[-1].split()[-5:] == [
        "user:default/alice",
        "note",
        "looking",
        "at",
        "ops-db",
    ]


def test_verify_exits_0_when_intact_and_1_naming_the_first_altered_event(
    oncall: Oncall, workspace: Path
) -> None:
    oncall("incident", "open", "Partial loads", "--asset", "training-db")
    oncall("incident", "note", "1", "paused the nightly ETL")
    oncall("incident", "note", "1", "deleted the partial batches")
    code, out, _ = oncall("incident", "verify", "INC-1")
    assert (code, out.strip()) == (0, "INC-1: timeline intact (3 events, hash chain verified)")

    with sqlite3.connect(workspace / ".oncall" / "state.db") as db:
        db.execute("DROP TRIGGER events_append_only_update")
        db.execute("UPDATE events SET message = 'did nothing' WHERE seq = 2")
        event_id = db.execute("SELECT id FROM events WHERE seq = 2").fetchone()[0]
    code, out, _ = oncall("incident", "verify", "INC-1")
    assert code == 1
    assert out.startswith(f"INC-1: timeline NOT intact at event #2 (id {event_id}): ")
    report = json.loads(oncall("incident", "verify", "INC-1", "--json")[1])
    assert (report["ok"], report["first_bad"], report["first_bad_id"]) == (False, 2, event_id)


def test_an_unknown_incident_or_bad_id_is_exit_2(oncall: Oncall) -> None:
    assert oncall("incident", "show", "INC-9")[::2] == (2, "oncall: no incident INC-9\n")
    code, _, err = oncall("incident", "note", "nine", "hello")
    assert code == 2 and "'nine' is not an incident id" in err


def test_an_unreachable_database_is_exit_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONCALL_USER", "alice")
    root = make_workspace(tmp_path / "ws", "postgresql+psycopg://oncall:pw@127.0.0.1:1/oncall")
    code, _, err = Oncall(root, monkeypatch, capsys)("incident", "list")
    assert code == 2
    assert err.startswith("oncall: cannot reach the database postgresql+psycopg://oncall:***@")
    assert len(err.strip().splitlines()) == 1


def test_the_real_command_line_works_on_both_backends(tmp_path: Path, database_url: str) -> None:
    root = make_workspace(tmp_path / "ws", database_url)
    env = {"ONCALL_USER": "user:default/alice", "PATH": "/usr/bin:/bin"}

    def oncall(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            oncall_argv("-w", str(root), *args),
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            timeout=120,
        )

    opened = oncall("incident", "open", "Partial loads", "--asset", "training-db", "--json")
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["id"] == "INC-1"
    assert oncall("incident", "ack", "INC-1").returncode == 0
    verified = oncall("incident", "verify", "INC-1")
    assert (verified.returncode, verified.stdout.strip()) == (
        0,
        "INC-1: timeline intact (2 events, hash chain verified)",
    )
    missing = oncall("incident", "show", "INC-2")
    assert (missing.returncode, missing.stderr) == (2, "oncall: no incident INC-2\n")


def _can_mount_read_only() -> bool:
    """Root with mount namespaces (CI's container): a real read-only filesystem is possible."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_read_only(), reason="needs root and mount namespaces")
def test_a_workspace_on_a_read_only_filesystem_is_exit_2_and_changes_nothing(
    tmp_path: Path,
) -> None:
    root = make_workspace(tmp_path / "ws")
    env = {"ONCALL_USER": "alice", "PATH": "/usr/bin:/bin"}
    opened = subprocess.run(
        oncall_argv("-w", str(root), "incident", "open", "t", "--asset", "training-db"),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert opened.returncode == 0, opened.stderr
    fresh = make_workspace(tmp_path / "fresh")
    results = {}
    for name, args in {
        "note": ["-w", str(root), "incident", "note", "INC-1", "hello"],
        "first use": ["-w", str(fresh), "incident", "list"],
    }.items():
        argv = " ".join(shlex.quote(a) for a in oncall_argv(*args))
        script = (
            f"mount --bind {tmp_path} {tmp_path} && "
            f"mount -o remount,bind,ro {tmp_path} && exec {argv}"
        )
        results[name] = subprocess.run(
            ["unshare", "-m", "sh", "-c", script],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    assert results["note"].returncode == 2
    # The store is opened read-only (issue 17): the write is refused before it reaches the file.
    assert results["note"].stderr.startswith("oncall: read-only: nothing was changed (the store ")
    assert "cannot be written" in results["note"].stderr
    assert results["first use"].returncode == 2
    assert "cannot create the store's directory" in results["first use"].stderr
    assert not (fresh / ".oncall").exists()
    with sqlite3.connect(root / ".oncall" / "state.db") as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_the_first_to_acknowledge_commands_and_command_takes_it_over(
    oncall: Oncall, monkeypatch: pytest.MonkeyPatch
) -> None:
    oncall("incident", "open", "Partial loads", "--asset", "training-db")
    code, out, _ = oncall("incident", "ack", "INC-1")
    assert code == 0
    assert out.splitlines()[1] == "  commander: user:default/alice (the first to acknowledge)"
    code, out, _ = oncall("incident", "command", "INC-1")
    assert (code, out.strip()) == (0, "INC-1: user:default/alice already commands it")
    monkeypatch.setenv("ONCALL_USER", "user:default/bob")
    code, out, _ = oncall("incident", "command", "INC-1")
    assert (code, out.strip()) == (0, "INC-1 commander: user:default/bob (from user:default/alice)")
    shown = oncall.json("incident", "show", "INC-1")
    assert isinstance(shown, dict) and shown["commander"] == "user:default/bob"
    assert (
        shown["events"][-1]["message"] == "user:default/bob takes command from user:default/alice"
    )


def test_a_second_incident_on_an_asset_with_one_open_is_opened_with_a_warning(
    oncall: Oncall,
) -> None:
    oncall("incident", "open", "Partial loads", "--asset", "training-db")
    code, out, err = oncall("incident", "open", "Loads again", "--asset", "training-db")
    assert code == 0 and out.startswith("opened INC-2")
    assert err.strip() == (
        "warning: INC-1 was already open on resource:default/training-db (Partial loads); "
        "if this is the same problem, add to it: oncall incident note INC-1 TEXT"
    )


def test_a_tampered_timeline_is_never_shown_as_whole_and_a_recorded_head_catches_truncation(
    oncall: Oncall, workspace: Path
) -> None:
    oncall("incident", "open", "Partial loads", "--asset", "training-db")
    oncall("incident", "note", "1", "paused the nightly ETL")
    oncall("incident", "note", "1", "deleted the partial batches")
    with sqlite3.connect(workspace / ".oncall" / "state.db") as db:
        anchor = db.execute("SELECT hash FROM events WHERE seq = 3").fetchone()[0]
    code, out, _ = oncall("incident", "verify", "INC-1", "--head", anchor)
    assert code == 0 and "history up to #3 matches --head" in out

    # An attacker deletes the last event and rewrites the head kept on the incident row.
    with sqlite3.connect(workspace / ".oncall" / "state.db") as db:
        db.execute("DROP TRIGGER events_append_only_delete")
        db.execute("DELETE FROM events WHERE seq = 3")
        head = db.execute("SELECT hash FROM events WHERE seq = 2").fetchone()[0]
        db.execute("UPDATE incidents SET last_seq = 2, head_hash = ? WHERE id = 'INC-1'", (head,))
    assert oncall("incident", "verify", "INC-1")[0] == 0  # the database alone cannot tell
    code, out, _ = oncall("incident", "verify", "INC-1", "--head", anchor)
    assert code == 1 and f"the anchored head {anchor[:12]}… is not in the verified timeline" in out

    with sqlite3.connect(workspace / ".oncall" / "state.db") as db:
        db.execute("DROP TRIGGER events_append_only_update")
        db.execute("UPDATE events SET message = 'did nothing' WHERE seq = 2")
    code, out, err = oncall("incident", "show", "INC-1")
    assert code == 1
    assert "did nothing" in out
    assert "WARNING: INC-1's timeline does NOT verify at event #2" in err


def test_acting_as_someone_else_needs_the_os_user_mapping_or_allow_impersonation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import getpass

    monkeypatch.delenv("ONCALL_USER", raising=False)
    root = make_workspace(tmp_path / "ws")
    config = root / "oncall.toml"
    me = getpass.getuser()
    config.write_text(
        f'name = "tiny"\nlineage = []\n\n[operators]\n{me} = "user:default/alice"\n',
        encoding="utf-8",
    )
    oncall = Oncall(root, monkeypatch, capsys)
    code, _, err = oncall(
        "--as", "bob", "incident", "open", "Partial loads", "--asset", "training-db"
    )
    assert code == 2
    assert f"--as bob: the OS user {me} is mapped to user:default/alice in [operators]" in err
    monkeypatch.setenv("ONCALL_USER", "user:default/bob")
    code, _, err = oncall("incident", "open", "Partial loads", "--asset", "training-db")
    assert code == 2 and "$ONCALL_USER=user:default/bob" in err
    monkeypatch.setenv("ONCALL_USER", "alice")  # the OS user's own ref, by its short name
    assert oncall("incident", "open", "Partial loads", "--asset", "training-db")[0] == 0
    monkeypatch.delenv("ONCALL_USER")
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[operators]", "allow_impersonation = true\n\n[operators]"
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("ONCALL_HOST", "laptop-a")
    assert oncall("--as", "bob", "incident", "note", "1", "looking")[0] == 0
    events = [e for e in oncall.json("incident", "show", "1")["events"]]  # type: ignore[index]
    assert [(e["actor"], e["os_user"], e["impersonated"]) for e in events] == [
        ("user:default/alice", me, False),
        ("bob", me, True),  # not in this catalog: as given
    ]
    shown = oncall("incident", "show", "1")[1]
    assert f"{me}@laptop-a acting as bob" in shown
