"""`oncall postmortem` end to end: the real command line in a subprocess, on a real workspace."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import oncall_argv
from tests.postmortems.mdparse import parse
from tests.postmortems.scenario import CATALOG_DIR, open_store, record_incident

DRAFT_NAME = "2024-05-04-training-db-4-partial-loads-retrain.md"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "oncall.toml").write_text('name = "pm-test"\ncatalog = ["catalog"]\nlineage = []\n')
    shutil.copytree(CATALOG_DIR, root / "catalog")
    store, clock = open_store(f"sqlite:///{root / '.oncall' / 'state.db'}")
    try:
        record_incident(store, clock)
    finally:
        store.close()
    return root


def oncall(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        oncall_argv("-w", str(workspace), *args),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=workspace.parent,
    )


def test_it_writes_the_draft_under_postmortems_and_prints_the_path(workspace: Path) -> None:
    result = oncall(workspace, "postmortem", "INC-1")
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path == (workspace / "postmortems" / DRAFT_NAME).resolve()
    doc = parse(path.read_text(encoding="utf-8"))
    assert "Timeline" in doc.titles(2)
    assert len(doc.tables_under("Timeline")[0].rows) == 18


def test_rerunning_replaces_an_untouched_draft_but_keeps_an_edited_one(workspace: Path) -> None:
    first = Path(oncall(workspace, "postmortem", "1").stdout.strip())
    again = oncall(workspace, "postmortem", "inc-1")
    assert Path(again.stdout.strip()) == first and again.stderr == ""

    edited = first.read_text(encoding="utf-8").replace("## Root cause", "## Root cause\n\nOurs.")
    first.write_text(edited, encoding="utf-8")
    second = oncall(workspace, "postmortem", "INC-1")
    assert second.returncode == 0
    assert Path(second.stdout.strip()) == first.with_name(DRAFT_NAME.replace(".md", "-2.md"))
    assert f"kept {first}" in second.stderr
    assert first.read_text(encoding="utf-8") == edited

    forced = oncall(workspace, "postmortem", "INC-1", "--force")
    assert Path(forced.stdout.strip()) == first
    assert "Ours." not in first.read_text(encoding="utf-8")


def test_json_prints_the_same_content_as_data_and_writes_nothing(workspace: Path) -> None:
    result = oncall(workspace, "postmortem", "INC-1", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["incident"]["id"] == "INC-1"
    assert len(data["timeline"]) == 18
    assert {item["source"] for item in data["action_items"]} >= {"failed-step", "break-glass"}
    catalog_refs = [
        i["reference"] for i in data["action_items"] if i["source"] == "catalog-problem"
    ]
    assert catalog_refs and all(ref.startswith("catalog/catalog.yaml:") for ref in catalog_refs)
    assert not (workspace / "postmortems").exists()


def test_out_dash_prints_the_markdown_and_out_file_writes_there(workspace: Path) -> None:
    printed = oncall(workspace, "postmortem", "INC-1", "--out", "-")
    assert printed.stdout.startswith("# Postmortem: INC-1")
    target = workspace.parent / "elsewhere" / "pm.md"
    written = oncall(workspace, "postmortem", "INC-1", "--out", str(target))
    assert Path(written.stdout.strip()) == target.resolve()
    assert target.read_text(encoding="utf-8").startswith("# Postmortem: INC-1")


def test_the_workspace_template_is_used_and_its_errors_name_file_and_line(
    workspace: Path,
) -> None:
    templates = workspace / "templates"
    templates.mkdir()
    (templates / "postmortem.md.j2").write_text("# {{ incident.id }}\n{{ incident.oops }}\n")
    result = oncall(workspace, "postmortem", "INC-1")
    assert result.returncode == 2
    assert result.stderr.startswith(f"oncall: {templates / 'postmortem.md.j2'}:2: ")
    assert "Traceback" not in result.stderr
    assert not (workspace / "postmortems").exists()

    good = workspace / "mine.md.j2"
    good.write_text("# {{ incident.id }} via option\n")
    printed = oncall(workspace, "postmortem", "INC-1", "--template", str(good), "--out", "-")
    assert printed.stdout == "# INC-1 via option\n"


def test_an_unknown_incident_is_a_clear_error(workspace: Path) -> None:
    result = oncall(workspace, "postmortem", "INC-99")
    assert result.returncode == 2
    assert result.stderr.strip() == "oncall: no incident INC-99"


def test_the_draft_records_the_chain_head_and_warns_in_its_header_when_it_breaks(
    workspace: Path,
) -> None:
    import sqlite3

    db_path = workspace / ".oncall" / "state.db"
    result = oncall(workspace, "postmortem", "INC-1", "--out", "-")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db_path) as db:
        head = db.execute("SELECT head_hash FROM incidents WHERE id = 'INC-1'").fetchone()[0]
    assert f"| Timeline head (SHA-256) | `{head}`" in result.stdout
    assert "WARNING" not in result.stdout
    verified = subprocess.run(
        oncall_argv("-w", str(workspace), "incident", "verify", "INC-1", "--head", head),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout

    with sqlite3.connect(db_path) as db:
        db.execute("DROP TRIGGER events_append_only_update")
        db.execute("UPDATE events SET message = 'forged' WHERE seq = 3")
    forged = oncall(workspace, "postmortem", "INC-1", "--out", "-")
    assert forged.returncode == 1
    title, blank, warning = forged.stdout.splitlines()[:3]
    assert title.startswith("# Postmortem: INC-1") and blank == ""
    assert warning.startswith("> **WARNING: this incident's timeline did NOT verify**")
    assert "first altered event: #3" in warning
    assert "WARNING: INC-1's timeline does NOT verify at event #3" in forged.stderr
