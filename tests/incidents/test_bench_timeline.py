"""The timeline benchmark runs end to end and checks its own chains (timings are not asserted,
only that every row carries ours, baseline, ratio and target and is judged on the ratio)."""

from __future__ import annotations

import json

import pytest

from bench import timeline

pytestmark = pytest.mark.slow


def test_the_timeline_benchmark_prints_every_row_with_a_valid_chain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    timeline.main(
        ["--events", "40", "--batch", "4", "--processes", "2", "--verify-events", "30", "--json"]
    )
    result = json.loads(capsys.readouterr().out)
    rows = {row["row"]: row for row in result["rows"]}
    assert list(rows) == [
        "appends, 1 process",
        "appends, batches of 4",
        "appends, 2 processes",
        "verify 30 events",
    ]
    assert rows["appends, 1 process"]["note"].startswith("chain valid, 41 events; baseline: raw")
    assert rows["appends, batches of 4"]["note"].startswith("chain valid, 41 events")
    assert rows["appends, 2 processes"]["note"].startswith("chain valid, 41 events")
    assert rows["verify 30 events"]["note"].startswith("chain valid, 30 events")
    for row in rows.values():
        assert set(row) >= {"ours", "baseline", "ratio", "target_ratio", "status"}
        assert row["ours"] > 0
    appends = rows["appends, 1 process"]
    assert appends["target_ratio"] == 0.25 and appends["baseline"] > 0
    assert appends["ratio"] == pytest.approx(appends["ours"] / appends["baseline"], rel=1e-3)
    assert appends["status"] == ("pass" if appends["ratio"] >= 0.25 else "fail")
