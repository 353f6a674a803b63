"""No silent impostor: an asset defined twice names no owner anywhere, and an owner the catalog
does not hold is shown as such, never as if it existed.

The demo's `training-db` (owned by team-data in catalog/data.yaml) is defined again by another
file naming another owner. Before, the alphabetically first file won and nobody noticed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from graph.loader import load_catalog
from graph.queries import owners, unpaged, who_to_page
from tests.conftest import DEMO_WORKSPACE, oncall_argv

AT = "2026-11-20T12:00:00Z"

IMPOSTOR = """\
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: training-db
  title: Not the training database
spec:
  type: training-store
  owner: team-commerce
"""

GHOST_OWNED = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orphan-job
spec:
  type: pipeline
  lifecycle: production
  owner: group:default/ghost-team
  dependsOn: [resource:training-db]
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(DEMO_WORKSPACE, root)
    (root / "catalog" / "aa-impostor.yaml").write_text(IMPOSTOR)
    (root / "catalog" / "ghost.yaml").write_text(GHOST_OWNED)
    return root


def oncall(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        oncall_argv("--workspace", str(root), *args),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_catalog_keeps_both_definitions_and_names_no_owner(workspace: Path) -> None:
    catalog = load_catalog([workspace / "catalog"])
    definitions = catalog.definitions("resource:default/training-db")
    assert [(Path(d.file).name, d.owner) for d in definitions] == [
        ("aa-impostor.yaml", "group:default/team-commerce"),
        ("data.yaml", "group:default/team-data"),
    ]
    assert all(d.line for d in definitions)
    assert catalog.get("resource:default/training-db").owner is None
    ownership = owners(catalog, "resource:default/training-db", datetime.now(UTC))
    assert ownership.ambiguous and ownership.owner is None and ownership.on_call is None
    # Nobody is paged on the impostor's word (team-commerce's on-call), nor on the first file's.
    page = who_to_page(catalog, ["resource:default/training-db"], datetime.now(UTC))
    assert page == []
    (item,) = unpaged(catalog, ["resource:default/training-db"])
    assert "aa-impostor.yaml" in item.reason and "data.yaml" in item.reason


def test_the_cached_catalog_remembers_the_duplicates(workspace: Path, tmp_path: Path) -> None:
    first = load_catalog([workspace / "catalog"], cache_dir=tmp_path / "cache")
    again = load_catalog([workspace / "catalog"], cache_dir=tmp_path / "cache")
    assert list(tmp_path.joinpath("cache").iterdir()), "the first load wrote a cache"
    assert again.duplicates == first.duplicates != {}


def test_owner_refuses_and_names_both_definitions_and_their_files(workspace: Path) -> None:
    result = oncall(workspace, "owner", "training-db", "--at", AT)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "resource:default/training-db is defined twice" in line
    assert "aa-impostor.yaml:" in line and "(owner group:default/team-commerce)" in line
    assert "data.yaml:" in line and "(owner group:default/team-data)" in line
    assert "Traceback" not in result.stderr


def test_owner_json_gives_the_definitions_instead_of_an_owner(workspace: Path) -> None:
    result = oncall(workspace, "owner", "training-db", "--json")
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert "defined twice" in data["error"]
    assert sorted(d["owner"] for d in data["definitions"]) == [
        "group:default/team-commerce",
        "group:default/team-data",
    ]


def test_impact_pages_nobody_for_the_ambiguous_asset_and_says_why(workspace: Path) -> None:
    result = oncall(workspace, "impact", "training-db", "--at", AT, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    reasons = [reason for target in data["page"] for reason in target["reasons"]]
    assert not any("training-db" in reason for reason in reasons)
    unpaged_refs = {u["ref"]: u["reason"] for u in data["unpaged"]}
    assert "defined twice" in unpaged_refs["resource:default/training-db"]
    assert (
        (unpaged_refs["component:default/orphan-job"])
        == "its owner group:default/ghost-team is not in the catalog"
    )

    text = oncall(workspace, "impact", "training-db", "--at", AT).stdout
    assert "not paged: resource:default/training-db is defined twice" in text
    assert "ghost-team (not in the catalog)" in text


def test_graph_check_reports_the_duplicate_with_both_places(workspace: Path) -> None:
    result = oncall(workspace, "graph", "check")
    assert result.returncode == 1
    assert "duplicate entity: already defined at" in result.stdout
    assert "aa-impostor.yaml" in result.stdout


def test_a_dangling_owner_is_shown_as_not_in_the_catalog(workspace: Path) -> None:
    result = oncall(workspace, "owner", "orphan-job", "--at", AT)
    assert result.returncode == 0, result.stderr
    assert "owner       group:default/ghost-team (not in the catalog)" in result.stdout
    assert "on call     (nobody: the owner is not in the catalog)" in result.stdout


def test_paging_an_incident_names_the_ambiguous_asset(workspace: Path) -> None:
    opened = oncall(workspace, "incident", "open", "bad loads", "--asset", "training-db", "--json")
    assert opened.returncode == 0, opened.stderr
    incident = json.loads(opened.stdout)["id"]
    result = oncall(workspace, "--as", "ben.okafor", "runbook", "page", incident)
    assert result.returncode == 0, result.stderr
    assert "not paged: resource:default/training-db is defined twice" in result.stderr
    assert "aa-impostor.yaml" in result.stderr
    assert "owns resource:default/training-db" not in result.stdout
