"""`oncall contamination` on the broken demo: the exact contaminated and clean sets, the window
given as a run, and one clear line (exit 2) for each kind of bad input."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

import demo
from incidents.store import Store
from tests.conftest import oncall_argv

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TRAINING_DB = "resource:default/training-db"


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, demo.Breakage]:
    root = demo.init_workspace(tmp_path_factory.mktemp("c") / "ws", NOW)
    with Store.open(f"sqlite:///{root / '.oncall' / 'state.db'}") as store:
        breakage = demo.break_workspace(root, store, now=NOW)
    return root, breakage


def oncall(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        oncall_argv("--workspace", str(root), *args),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_demo_finds_the_partial_loads_and_what_was_built_on_them(
    broken: tuple[Path, demo.Breakage],
) -> None:
    root, breakage = broken
    result = oncall(root, "contamination", "training-db", "--since", breakage.since, "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["asset"] == TRAINING_DB
    assert found["until"] is None
    summary = [(c["ref"], c["hops"], c["versions"]) for c in found["contaminated"]]
    assert summary == [
        (TRAINING_DB, 0, list(breakage.partial_loads)),
        ("component:default/demand-forecast", 1, ["5"]),
        ("component:default/pricing-feed", 2, ["5"]),
        ("component:default/tax-feed", 3, ["5"]),
    ]
    loads = found["contaminated"][0]["runs"]
    assert [r["state"] for r in loads] == ["FAIL"] * 4
    assert set(loads[0]) == {"run_id", "job", "started_at", "ended_at", "state"}
    assert loads[0]["job"] == "component:default/nightly-etl"
    assert found["contaminated"][3]["path"] == [
        TRAINING_DB,
        "component:default/demand-forecast",
        "component:default/pricing-feed",
        "component:default/tax-feed",
    ]
    clean = {c["ref"]: c for c in found["clean"]}
    assert clean["component:default/reorder-recommender"]["reason"].endswith("before the window")
    assert clean["component:default/reorder-recommender"]["owner"] == "group:default/team-ml"
    assert "resource:default/feature-store" in clean
    assert not set(clean) & {c["ref"] for c in found["contaminated"]}


def test_the_text_answer_is_two_tables_with_owners(broken: tuple[Path, demo.Breakage]) -> None:
    root, breakage = broken
    result = oncall(root, "contamination", "training-db", "--since", breakage.since)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Contaminated (4)" in text and "Downstream, clean (" in text
    contaminated, clean = text.split("Downstream, clean")
    assert (
        "component:default/tax-feed" in contaminated
        and "group:default/team-commerce" in contaminated
    )
    assert "component:default/reorder-recommender " in clean and "before the window" in clean


def test_the_window_can_be_given_as_the_run_that_wrote_the_bad_data(
    broken: tuple[Path, demo.Breakage],
) -> None:
    root, breakage = broken
    full = json.loads(
        oncall(root, "contamination", "training-db", "--since", breakage.since, "--json").stdout
    )
    first_load = full["contaminated"][0]["runs"][0]
    result = oncall(root, "contamination", "--run", first_load["run_id"], "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["asset"] == TRAINING_DB
    assert found["since"] == first_load["ended_at"]
    assert [c["ref"] for c in found["contaminated"]] == [c["ref"] for c in full["contaminated"]]


def test_a_repair_before_the_model_was_trained_leaves_it_clean(
    broken: tuple[Path, demo.Breakage],
) -> None:
    root, breakage = broken
    until = "2026-12-03T06:00:00Z"  # after the four partial loads, before v5 was trained
    result = oncall(
        root, "contamination", "training-db", "--since", breakage.since, "--until", until, "--json"
    )
    found = json.loads(result.stdout)
    assert [c["ref"] for c in found["contaminated"]] == [TRAINING_DB]
    assert found["until"] == "2026-12-03T06:00:00Z"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no-such-asset", "--since", "2026-12-03T02:00:00Z"), "no asset named 'no-such-asset'"),
        (("training-db", "--since", "last tuesday"), "--since 'last tuesday' is not an ISO 8601"),
        (
            ("training-db", "--since", "2026-12-03T02:00:00Z", "--until", "2026-12-03T01:00:00Z"),
            "the window ends 2026-12-03 01:00 UTC before it starts",
        ),
        (("--run", "no-such-run"), "no run 'no-such-run' in the run history"),
        (("training-db",), "give ASSET and --since (or --run RUN_ID)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    broken: tuple[Path, demo.Breakage], args: tuple[str, ...], message: str
) -> None:
    root, _ = broken
    result = oncall(root, "contamination", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
