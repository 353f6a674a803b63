"""The demo workspace: init, break (seed 000), reset, and the nightly ETL it ships."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

import demo
from demo.databases import DATABASES, run_etl
from demo.errors import DemoError
from incidents.store import Store
from runbooks.library import load_library
from tests.conftest import DEMO_WORKSPACE, oncall_argv

NOW = datetime(2024, 6, 8, 14, 0, tzinfo=UTC)


def rows(path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_init_creates_a_workspace_with_four_databases_and_vetted_runbooks(tmp_path: Path) -> None:
    root = demo.init_workspace(tmp_path / "ws", NOW)
    assert (root / "oncall.toml").is_file() and (root / "catalog").is_dir()
    assert sorted(p.name for p in (root / "data").iterdir()) == sorted(DATABASES)
    library = load_library(root / "runbooks", root / "runbooks.lock")
    assert {e.runbook.id: e.state for e in library.entries if e.runbook} == {
        "feed-backout": "vetted",
        "model-rollback": "vetted",
        "training-store-partial-load": "vetted",
    }
    data = root / "data"
    assert rows(data / "ops.db", "SELECT COUNT(*), COUNT(DISTINCT day) FROM orders") == [(1200, 5)]
    assert rows(data / "training.db", "SELECT COUNT(*), MIN(status), MAX(status) FROM loads") == [
        (4, "complete", "complete")
    ]
    assert rows(data / "registry.db", "SELECT model, version FROM aliases ORDER BY model") == [
        ("demand-forecast", 4),
        ("reorder-recommender", 4),
    ]
    assert all(rows(data / name, "SELECT COUNT(*) FROM audit_log") == [(0,)] for name in DATABASES)


def test_the_bundled_lock_vets_every_bundled_runbook() -> None:
    library = load_library(DEMO_WORKSPACE / "runbooks", DEMO_WORKSPACE / "runbooks.lock")
    assert library.entries and all(e.state == "vetted" for e in library.entries)


def test_init_is_idempotent_and_refuses_to_touch_anything_else(tmp_path: Path) -> None:
    root = demo.init_workspace(tmp_path / "ws", NOW)
    marker = rows(root / "data" / "ops.db", "SELECT COUNT(*) FROM orders")
    assert demo.init_workspace(root) == root
    assert rows(root / "data" / "ops.db", "SELECT COUNT(*) FROM orders") == marker
    other = tmp_path / "team"
    other.mkdir()
    (other / "oncall.toml").write_text('name = "team"\n')
    with pytest.raises(DemoError, match="is a workspace but not the demo"):
        demo.init_workspace(other)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(DemoError, match="is not empty"):
        demo.init_workspace(tmp_path / "full")
    assert not (other / "data").exists()


def test_break_reproduces_seed_000_with_an_open_incident_and_its_alert(tmp_path: Path) -> None:
    root = demo.init_workspace(tmp_path / "ws", NOW)
    store = Store.open(f"sqlite:///{root / '.oncall' / 'state.db'}")
    try:
        breakage = demo.break_workspace(root, store, now=NOW)
        incident = store.get_incident(breakage.incident_id)
        events = store.events(incident.id)
        assert store.verify(incident.id).ok
    finally:
        store.close()
    assert (breakage.day, breakage.since) == ("2024-06-07", "2024-06-08T02:00:00+00:00")
    data = root / "data"
    partial = rows(
        data / "training.db",
        "SELECT id, status, rows, triggered_by FROM loads WHERE day = '2024-06-07' ORDER BY started_at",
    )
    assert [(r[1], r[2]) for r in partial] == [
        ("partial", 90),
        ("partial", 140),
        ("partial", 60),
        ("partial", 200),
    ]
    assert partial[2][3] == "ben.okafor (manual resubmit)"
    assert rows(
        data / "training.db",
        "SELECT COUNT(*), COUNT(DISTINCT order_id) FROM samples WHERE day = '2024-06-07'",
    ) == [(490, 200)]
    assert rows(data / "ops.db", "SELECT paused, last_status FROM jobs") == [(0, "failed")]
    champion = rows(
        data / "registry.db", "SELECT version FROM aliases WHERE model = 'demand-forecast'"
    )
    assert champion == [(breakage.bad_model_version,)]
    trained_on = rows(
        data / "registry.db",
        "SELECT training_loads FROM model_versions WHERE version = ?",
        breakage.bad_model_version,
    )
    assert all(load in trained_on[0][0] for load in breakage.partial_loads)
    feeds = rows(
        data / "feeds.db",
        "SELECT f.feed, v.published_at >= ? FROM active_feeds f JOIN feed_versions v ON v.feed = f.feed AND v.version = f.version",
        breakage.since,
    )
    assert feeds == [("pricing-feed", 1), ("tax-feed", 1)]
    assert (incident.status, incident.asset, incident.severity) == (
        "open",
        "resource:default/training-db",
        "SEV1",
    )
    assert [e.kind for e in events] == ["status", "alert"]
    assert events[1].data["partial_loads"] == list(breakage.partial_loads)
    assert "holds 490 rows for 2024-06-07 from 4 partial loads; ops-db has 240" in events[1].message


def test_reset_reseeds_the_databases_and_removes_the_local_state(tmp_path: Path) -> None:
    root = demo.init_workspace(tmp_path / "ws", NOW)
    state = root / ".oncall" / "state.db"
    store = Store.open(f"sqlite:///{state}")
    demo.break_workspace(root, store, now=NOW)
    store.close()
    demo.reset_workspace(root, state)
    assert not state.exists()
    assert rows(
        root / "data" / "training.db", "SELECT COUNT(*) FROM loads WHERE status = 'partial'"
    ) == [(0,)]


def test_the_nightly_etl_loads_a_day_once_by_load_id_and_by_day(tmp_path: Path) -> None:
    root = demo.init_workspace(tmp_path / "ws", NOW)
    data = root / "data"
    day = "2024-06-07"
    assert run_etl(data, "verify", "--day", day) == 1
    assert run_etl(data, "load", "--day", day, "--load-id", "first") == 0
    assert run_etl(data, "load", "--day", day, "--load-id", "first") == 0
    assert run_etl(data, "load", "--day", day, "--load-id", "second") == 0
    assert rows(data / "training.db", "SELECT id, rows FROM loads WHERE day = ?", day) == [
        ("first", 240)
    ]
    assert run_etl(data, "verify", "--day", day) == 0
    script = subprocess.run(
        ["python3", "bin/nightly_etl.py", "verify", "--day", day],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert script.returncode == 0
    assert json.loads(script.stdout) == {
        "day": day,
        "source_rows": 240,
        "loaded_rows": 240,
        "complete_loads": 1,
        "partial_loads": 0,
    }


def test_the_demo_commands_init_break_and_reset(tmp_path: Path) -> None:
    root = tmp_path / "ws"

    def oncall(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            oncall_argv(*args), capture_output=True, text=True, timeout=120, check=False
        )

    init = oncall("demo", "init", str(root), "--json")
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["workspace"] == str(root.resolve())
    broke = oncall("-w", str(root), "demo", "break", "--json")
    assert broke.returncode == 0, broke.stderr
    report = json.loads(broke.stdout)
    assert report["incident"] == "INC-1" and len(report["recovery"]) == 4
    assert report["recovery"][0].startswith(
        "oncall --as ana.lima runbook run training-store-partial-load --incident INC-1"
    )
    assert report["recover"] == "oncall --as ana.lima recover INC-1"
    data = {p.name: p.read_bytes() for p in sorted((root / "data").glob("*.db"))}
    again = oncall("-w", str(root), "demo", "break")
    assert again.returncode == 2, again.stdout
    assert again.stderr.startswith("oncall: the demo is already broken: INC-1 is open on ")
    assert "oncall demo reset" in again.stderr
    assert {p.name: p.read_bytes() for p in sorted((root / "data").glob("*.db"))} == data
    reset = oncall("-w", str(root), "demo", "reset", "--json")
    assert json.loads(reset.stdout) == {"workspace": str(root.resolve()), "state_removed": True}
    lines = oncall("-w", str(root), "demo", "break").stdout.splitlines()
    first = lines.index("recover with:") + 1
    assert lines[first] == "  oncall --as ana.lima recover INC-1"  # the one command, first
    steps = [line.split()[5] for line in lines[first + 1 :] if "runbook run" in line]
    assert steps == [
        "training-store-partial-load",
        "model-rollback",
        "feed-backout",
        "feed-backout",
    ]
    oncall("-w", str(root), "demo", "reset")
    team = tmp_path / "team"
    team.mkdir()
    (team / "oncall.toml").write_text('name = "team"\n')
    refused = oncall("-w", str(team), "demo", "break")
    assert refused.returncode == 2 and refused.stderr.startswith("oncall: ")
    assert "is not the demo workspace" in refused.stderr
