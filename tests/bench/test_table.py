"""The benchmark rows of bench.timeline and bench.intake: judged on the ratio, failed by their own
check whatever the timings, printed by one printer."""

from __future__ import annotations

import pytest

from bench.table import make_row, print_table


def test_a_row_is_judged_on_its_ratio_to_the_baseline() -> None:
    row = make_row("sqlite", "appends", 30.0, "/s", "n", baseline=100.0, target_ratio=0.25)
    assert row["ratio"] == pytest.approx(0.3) and row["status"] == "pass"
    row = make_row("sqlite", "appends", 20.0, "/s", "n", baseline=100.0, target_ratio=0.25)
    assert row["status"] == "fail"


def test_an_absolute_goal_must_hold_as_well_as_the_ratio() -> None:
    common = {"baseline": 1000.0, "target_ratio": 0.5, "at_least": 1000.0}
    assert make_row("sqlite", "alerts", 900.0, "/s", "", **common)["status"] == "fail"
    assert make_row("sqlite", "alerts", 1200.0, "/s", "", **common)["status"] == "pass"
    assert make_row("pg", "latency", 1200.0, "ms", "", at_most=1000.0)["status"] == "fail"


def test_a_row_whose_check_failed_fails_whatever_its_timings() -> None:
    row = make_row(
        "sqlite", "alerts", 5000.0, "/s", "n", baseline=1.0, target_ratio=0.5, failed="3 lost"
    )
    assert row["status"] == "fail" and row["note"] == "3 lost; n"


def test_without_a_goal_a_row_is_information() -> None:
    row = make_row("sqlite", "batches", 10.0, "/s", "", baseline=20.0, stored=4)
    assert row["status"] == "info" and row["stored"] == 4
    assert set(row) >= {"ours", "baseline", "ratio", "target_ratio", "status"}


def test_the_table_shows_rates_times_and_goals(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(
        [
            make_row(
                "sqlite",
                "alerts, 1 server",
                2000.0,
                "/s",
                "a",
                baseline=4000.0,
                target_ratio=0.5,
                at_least=1000.0,
            ),
            make_row("sqlite", "verify", 0.172, "s", "b", baseline=0.089),
            make_row("postgresql", "append -> other", 25.4, "ms", "c", at_most=1000.0),
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert "2,000/s" in out[2] and "4,000/s" in out[2] and "0.50x" in out[2]
    assert ">=0.5x >=1,000/s" in out[2] and "pass" in out[2]
    assert "172 ms" in out[3] and "89 ms" in out[3] and "info" in out[3]
    assert "25.4 ms" in out[4] and "<=1,000.0 ms" in out[4]
