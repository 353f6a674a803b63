"""The runner: targets judged right, workspaces cached by generator and seed, `--json` shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import catalog_gen
from bench.run import (
    REPO_ROOT,
    Row,
    at_most,
    ensure_workspace,
    faster_by,
    parse_size,
    render_table,
    size_label,
    within,
)

STATUSES = {"pass", "fail", "info", "skipped", "error"}


def test_sizes_read_and_print_with_k_and_m_suffixes() -> None:
    assert [parse_size(s) for s in ("100k", "1M", "2500", "1.5k")] == [
        100_000,
        1_000_000,
        2500,
        1500,
    ]
    assert [size_label(n) for n in (100_000, 1_000_000, 2500, 300)] == ["100k", "1M", "2.5k", "300"]


def test_a_row_passes_only_when_its_target_holds() -> None:
    assert Row("a", "a", "s", ours=0.9).judge(at_most(1, "s")).status == "pass"
    assert Row("a", "a", "s", ours=1.1).judge(at_most(1, "s")).status == "fail"
    assert Row("b", "b", "s", ours=1.5, baseline=1.0).judge(within(1.5, "BFS")).status == "pass"
    assert Row("b", "b", "s", ours=1.6, baseline=1.0).judge(within(1.5, "BFS")).status == "fail"
    assert Row("c", "c", "s", ours=1.0, baseline=2.5).judge(faster_by(2.5, "CTE")).status == "pass"
    assert Row("c", "c", "s", ours=1.0, baseline=2.4).judge(faster_by(2.5, "CTE")).status == "fail"


def test_a_row_without_a_measurement_is_an_error_not_a_pass() -> None:
    assert Row("a", "a", "s").judge(at_most(1, "s")).status == "error"
    assert Row("b", "b", "s", ours=0.1).judge(within(2, "hello")).status == "error"
    assert Row("c", "c", "s", ours=5.0).judge(None).status == "info"


def test_the_table_has_one_line_per_row_with_target_and_result() -> None:
    rows = [
        Row("x", "fuzzy search", "s", ours=0.004, baseline=0.2, baseline_name="Matcher").judge(
            at_most(0.016, "s")
        ),
        Row("y", "memory", "MiB", status="error", note="exit 2: boom").judge(at_most(400, "MiB")),
    ]
    lines = render_table(rows).splitlines()
    assert len(lines) == 4
    assert "4.0 ms" in lines[2] and "200 ms (Matcher)" in lines[2] and "≤ 16 ms" in lines[2]
    assert lines[2].rstrip(" |").endswith("pass")
    assert "error: exit 2: boom" in lines[3] and "≤ 400 MiB" in lines[3]


def test_workspaces_are_reused_and_regenerated_only_for_a_new_seed(tmp_path: Path) -> None:
    first, meta = ensure_workspace(120, 1, tmp_path)
    stamp = (first / catalog_gen.META_FILE).stat().st_mtime_ns
    again, meta_again = ensure_workspace(120, 1, tmp_path)
    assert again == first and meta_again == meta
    assert (first / catalog_gen.META_FILE).stat().st_mtime_ns == stamp
    other, other_meta = ensure_workspace(120, 2, tmp_path)
    assert other != first and other_meta["seed"] == 2
    assert not first.exists()  # one workspace per size: 1M assets take half a gigabyte
    assert other_meta["generator_fingerprint"] == catalog_gen.generator_fingerprint()


@pytest.fixture(scope="module")
def json_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    cache = tmp_path_factory.mktemp("bench-cache")
    postgres = os.environ.get("ONCALL_TEST_DATABASE_URL")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", "300", "--no-tui", "--repeats", "1",
         "--json", "--cache-dir", str(cache), "--append-events", "50",
         "--postmortem-events", "20", *(["--postgres", postgres] if postgres else [])],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_json_output_describes_the_run_and_every_row(json_report: dict) -> None:
    assert json_report["command"].startswith("python -m bench --sizes 300")
    assert json_report["generator"]["fingerprint"] == catalog_gen.generator_fingerprint()
    assert json_report["machine"]["cpus"] >= 1
    ids = [row["id"] for row in json_report["rows"]]
    assert ids == [
        "append_sqlite",
        "append_postgres",
        "postmortem_render_20",
        "load_cold_300",
        "load_cached_300",
        "reload_one_file_300",
        "owner_lookup_300",
        "blast_vs_bfs_300",
        "blast_vs_cte_300",
        "fuzzy_300",
        "memory_cached_300",
        "memory_cold_300",
    ]
    for row in json_report["rows"]:
        assert set(row) == {
            "id", "label", "unit", "size", "ours", "baseline", "baseline_name", "target",
            "status", "note", "detail", "ratio", "target_ratio",
        }  # fmt: skip
        assert row["status"] in STATUSES
        assert row["unit"] in ("s", "MiB", "/s")
        if row["id"].endswith("_300"):
            assert row["size"] == 300
        if row["status"] in ("pass", "fail"):
            assert isinstance(row["ours"], float) and row["target"]
        if row["ours"] is not None and row["baseline"]:
            assert row["ratio"] == pytest.approx(row["ours"] / row["baseline"], rel=1e-3)
        if row["status"] == "error":
            assert row["note"]


def test_rows_with_a_baseline_in_the_same_run_are_judged_on_the_ratio(json_report: dict) -> None:
    rows = {row["id"]: row for row in json_report["rows"]}
    expected = {
        "append_sqlite": 0.25,
        "postmortem_render_20": 1.5,
        "load_cold_300": 0.7,
        "reload_one_file_300": 1.5,
        "blast_vs_bfs_300": 1.5,
        "fuzzy_300": 1,
    }
    for key, goal in expected.items():
        row = rows[key]
        assert row["target_ratio"] == goal, key
        assert row["status"] in ("pass", "fail"), (key, row["note"])
        higher_is_better = row["unit"] == "/s"
        holds = row["ratio"] >= goal if higher_is_better else row["ratio"] <= goal
        assert row["status"] == ("pass" if holds else "fail"), key
    assert rows["append_sqlite"]["detail"]["check"] == "chain valid, 51 events"
    if os.environ.get("ONCALL_TEST_DATABASE_URL"):
        assert rows["append_postgres"]["target_ratio"] == 0.5
        assert rows["append_postgres"]["detail"]["check"] == "chain valid, 51 events"
    else:
        assert rows["append_postgres"]["status"] == "skipped"
    assert rows["postmortem_render_20"]["detail"]["parsed_back"] == "20 rows for 20 events"
    assert rows["reload_one_file_300"]["detail"]["changed_file"].startswith("catalog/")


def test_the_blast_radius_rows_compare_equal_answers(json_report: dict) -> None:
    rows = {row["id"]: row for row in json_report["rows"]}
    for key in ("blast_vs_bfs_300", "blast_vs_cte_300"):
        row = rows[key]
        assert row["status"] in ("pass", "fail")
        assert row["detail"]["affected"] == row["detail"]["baseline_affected"] > 100
        assert row["detail"]["with_paths"] == row["detail"]["affected"]
    fuzzy = rows["fuzzy_300"]["detail"]
    assert fuzzy["keystrokes"] == ["d", "de", "dem", "dema", "deman", "demand"]
    assert len(fuzzy["ours_s"]) == len(fuzzy["textual_s"]) == len(fuzzy["rapidfuzz_s"]) == 6
    assert rows["fuzzy_300"]["baseline_name"] == "rapidfuzz process.extract"


def test_a_saved_json_run_prints_as_the_same_table(json_report: dict, tmp_path: Path) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(json_report), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--table-from", str(saved)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    table = render_table([Row(**row) for row in json_report["rows"]])
    assert done.stdout.startswith(table + "\n")
