"""`oncall owner`, `oncall impact` and `oncall graph …` run as real subprocesses."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import BACKSTAGE_EXAMPLES, DEMO_WORKSPACE, MARQUEZ_EVENTS, oncall_argv

AT = "2026-11-20T12:00:00Z"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        oncall_argv(*args), capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    return run("--workspace", str(DEMO_WORKSPACE), *args)


def test_owner_json_has_exactly_the_agreed_keys() -> None:
    result = demo("owner", "demand-forecast", "--at", AT, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == ["asset", "owner", "members", "on_call", "escalation"]
    assert data["asset"] == "component:default/demand-forecast"
    assert data["owner"] == "group:default/team-ml"
    assert all(set(m) == {"ref", "name", "email"} for m in data["members"])
    assert set(data["on_call"]) == {"ref", "name", "email", "rotation", "until"}
    assert data["on_call"]["rotation"] == "rotation:default/ml-oncall"
    assert data["escalation"] == ["user:default/hiro.tanaka", "user:default/maya.singh"]


def test_owner_in_text_names_the_team_the_person_on_call_and_the_escalation() -> None:
    result = demo("owner", "demand-forecast", "--at", AT)
    assert result.returncode == 0, result.stderr
    assert "group:default/team-ml" in result.stdout
    assert "on call" in result.stdout and "@example.com" in result.stdout
    assert "1. user:default/hiro.tanaka" in result.stdout


def test_impact_of_training_db_shows_models_deployments_feeds_and_people() -> None:
    result = demo("impact", "training-db", "--at", AT, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == ["asset", "count", "affected", "page", "unpaged"]
    assert data["unpaged"] == []
    assert data["asset"] == "resource:default/training-db"
    assert data["count"] == len(data["affected"])
    types = {a["type"] for a in data["affected"]}
    assert {"model", "deployment", "feed"} <= types
    assert all(set(a) == {"ref", "type", "hops", "path", "owner"} for a in data["affected"])
    assert all(
        a["path"][0] == data["asset"] and a["path"][-1] == a["ref"] for a in data["affected"]
    )
    assert len(data["page"]) == 3
    assert all(set(p) == {"ref", "name", "email", "reasons"} and p["reasons"] for p in data["page"])

    text = demo("impact", "training-db", "--at", AT)
    assert text.returncode == 0
    for word in (
        "demand-forecast-serving",
        "pricing-feed",
        "tax-feed",
        "page:",
        "on call for team-ml",
    ):
        assert word in text.stdout


def test_impact_depth_limits_the_hops() -> None:
    data = json.loads(demo("impact", "training-db", "--depth", "1", "--json").stdout)
    assert {a["hops"] for a in data["affected"]} == {1}


def test_an_unknown_asset_suggests_names_and_exits_2() -> None:
    result = demo("owner", "training-bd")
    assert result.returncode == 2
    assert "resource:default/training-db" in result.stderr
    assert "Traceback" not in result.stderr
    as_json = demo("impact", "training-bd", "--json")
    assert as_json.returncode == 2
    assert "resource:default/training-db" in json.loads(as_json.stdout)["suggestions"]


def test_an_ambiguous_asset_lists_candidates_and_exits_2() -> None:
    catalog = ["--catalog", str(BACKSTAGE_EXAMPLES / "all.yaml")]
    result = run(*catalog, "impact", "wayback-archive")
    assert result.returncode == 2
    assert "api:default/wayback-archive" in result.stderr
    assert "component:default/wayback-archive" in result.stderr


def test_a_bad_time_is_a_usage_error() -> None:
    result = demo("owner", "training-db", "--at", "tomorrow-ish")
    assert result.returncode == 2
    assert "ISO 8601" in result.stderr


def test_graph_check_passes_on_the_demo() -> None:
    result = demo("graph", "check", "--json")
    assert result.returncode == 0, result.stdout
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["errors"] == 0 and data["problems"] == []


def test_graph_check_reports_fixture_faults_and_exits_1_without_a_workspace(tmp_path: Path) -> None:
    invalid = BACKSTAGE_EXAMPLES / "components" / "invalid-component.yaml"
    args = ["--catalog", str(BACKSTAGE_EXAMPLES / "all.yaml"), "--catalog", str(invalid)]
    result = run(*args, "graph", "check", "--json", cwd=tmp_path)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert all(
        set(p) == {"severity", "file", "line", "entity", "message"} for p in data["problems"]
    )
    files = {(Path(p["file"]).name, p["severity"]) for p in data["problems"]}
    assert ("all-apis.yaml", "error") in files
    assert ("invalid-component.yaml", "error") in files
    assert ("frontend-design-skill.yaml", "warning") in files
    text = run(*args, "graph", "check", cwd=tmp_path)
    assert text.returncode == 1
    assert "all-apis.yaml:15: error:" in text.stdout


def test_graph_stats_counts_kinds_types_and_edges() -> None:
    result = run("--lineage", str(MARQUEZ_EVENTS), "graph", "stats", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kinds"] == {"dataset": 13, "job": 13}
    assert data["edges"] == 27
    assert data["warnings"] == 26  # no ownership facets in the Marquez seed data
    assert {"entities", "assets", "types", "rotations", "errors"} <= set(data)


def test_graph_import_copies_a_valid_file_and_refuses_a_broken_one(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(DEMO_WORKSPACE, workspace, ignore=shutil.ignore_patterns(".oncall"))
    source = tmp_path / "extra.yaml"
    source.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: extra}\n"
        "spec: {type: service, owner: team-ml, dependsOn: [component:demand-forecast]}\n"
    )
    result = run("--workspace", str(workspace), "graph", "import", str(source))
    assert result.returncode == 0, result.stderr
    assert (workspace / "catalog" / "extra.yaml").read_text() == source.read_text()
    impact = json.loads(run("-w", str(workspace), "impact", "demand-forecast", "--json").stdout)
    assert "component:default/extra" in [a["ref"] for a in impact["affected"]]

    again = run("--workspace", str(workspace), "graph", "import", str(source))
    assert again.returncode == 2 and "--force" in again.stderr

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: 'a b'}\n"
    )
    refused = run("--workspace", str(workspace), "graph", "import", str(broken))
    assert refused.returncode == 2
    assert "broken.yaml:3" in refused.stderr
    assert not (workspace / "catalog" / "broken.yaml").exists()
