"""The intake benchmark runs end to end against real servers and counts every receipt (timings
are not asserted: only that its rows have the shared shape and are judged as the issue says)."""

from __future__ import annotations

import json
import sys

import pytest

from bench import intake

pytestmark = pytest.mark.slow


def test_the_intake_benchmark_stores_every_alert_and_judges_on_the_ratio(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "bench.intake",
            "--alerts",
            "60",
            "--batch",
            "10",
            "--clients",
            "2",
            "--storm",
            "0",
            "--postgres",
            "",
            "--json",
        ],
    )
    intake.main()
    result = json.loads(capsys.readouterr().out)
    (row,) = result["rows"]
    assert row["backend"] == "sqlite" and row["row"] == "alerts, 1 server"
    assert row["stored"] == 60 and row["alerts"] == 60
    assert row["baseline"] > 0 and row["ratio"] == pytest.approx(row["ours"] / row["baseline"])
    assert row["target_ratio"] == 0.5 and row["at_least"] == 1000.0
    passed = row["ratio"] >= 0.5 and row["ours"] >= 1000.0
    assert row["status"] == ("pass" if passed else "fail")
