"""The postmortem benchmark runs end to end and checks its own output (timings are not asserted)."""

from __future__ import annotations

from bench.postmortem import run


def test_the_benchmark_renders_one_timeline_row_per_recorded_event() -> None:
    rows = {r["row"]: r for r in run(events=60, repeats=1)}
    assert rows["timeline rows parsed back"]["result"] == "ok"
    assert rows["timeline rows parsed back"]["note"] == "60 rows for 60 events"
    assert rows["render (bundled template)"]["seconds"] > 0
