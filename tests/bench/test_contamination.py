"""The contamination benchmark at a small size: it records, analyses, and the recursive SQL
baseline finds every dataset the analysis finds."""

from __future__ import annotations

from bench import contamination


def test_the_benchmark_checks_its_answer_against_the_recursive_query() -> None:
    rows = contamination.run(runs=1500, per_run=4)
    by_name = {row["name"]: row for row in rows}
    analysis = by_name["contamination (analysis)"]
    assert analysis["status"] in {"pass", "fail"}  # "error" would mean the answers disagree
    assert "6,000 events / 1,500 runs" in analysis["size"]
    assert analysis["baseline"] is not None and analysis["ours"] >= 0
