"""The timeline benchmark runs end to end and checks its own chains (timings are not asserted)."""

from __future__ import annotations

import json

import pytest

from bench import timeline

pytestmark = pytest.mark.slow


def test_the_timeline_benchmark_prints_every_row_with_a_valid_chain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    timeline.main(["--events", "40", "--processes", "2", "--verify-events", "30", "--json"])
    result = json.loads(capsys.readouterr().out)
    rows = {row["row"]: row for row in result["rows"]}
    assert list(rows) == [
        "appends, 1 process",
        "baseline: raw sqlite3",
        "appends, 2 processes",
        "verify 30 events",
        "  of which hashing",
    ]
    assert rows["appends, 1 process"]["note"] == "chain valid, 41 events"
    assert rows["appends, 2 processes"]["note"].startswith("chain valid, 41 events")
    assert rows["verify 30 events"]["note"] == "chain valid, 30 events"
    assert all(row["value"] > 0 for row in rows.values())
