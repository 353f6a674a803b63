"""The demo incident, end to end: `demo init` + `demo break`, the recovery runbook run twice
through the real CLI (the second run changes nothing), resolve, then `oncall postmortem`, read
back with a markdown parser."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import demo
from incidents.store import Store
from tests.conftest import oncall_argv
from tests.postmortems.mdparse import Document, parse

STEPS = ["pause-etl", "snapshot-partial", "delete-partial", "reload", "resume-etl"]


def run_cli(root: Path, *args: str) -> str:
    result = subprocess.run(
        oncall_argv("-w", str(root), *args), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def recovered(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, Document, Store]]:
    root = tmp_path_factory.mktemp("pm-demo") / "ws"
    now = datetime.now(UTC) - timedelta(minutes=5)
    demo.init_workspace(root, now)
    url = f"sqlite:///{root / '.oncall' / 'state.db'}"
    store = Store.open(url)
    try:
        breakage = demo.break_workspace(root, store, now=now)
    finally:
        store.close()
    recovery = shlex.split(breakage.commands()[0])[1:]  # drop the leading "oncall"
    run_cli(root, *recovery)
    run_cli(root, *recovery)  # by mistake, again: every step is already done
    run_cli(root, "--as", "ana.lima", "incident", "resolve", breakage.incident_id)
    path = Path(run_cli(root, "postmortem", breakage.incident_id).strip())
    assert path.parent == root / "postmortems"
    reader = Store.open(url)
    try:
        yield path, parse(path.read_text(encoding="utf-8")), reader
    finally:
        reader.close()


def test_the_demo_draft_is_named_for_the_incident_day_and_title(recovered) -> None:
    path, _doc, store = recovered
    incident = store.get_incident("INC-1")
    assert path.name.startswith(f"{incident.opened_at:%Y-%m-%d}-training-db-four-partial-loads")


def test_the_demo_draft_has_every_section(recovered) -> None:
    _path, doc, _store = recovered
    assert doc.titles(2) == [
        "Summary",
        "Impact",
        "Timeline",
        "Detection and response",
        "Metrics",
        "Root cause",
        "Lessons",
        "Action items",
    ]
    assert doc.titles(3)[:4] == [
        "Contaminated (4)",
        "Downstream, clean (7)",
        "Feature stores (1)",
        "Models (2)",
    ]
    assert "Feeds (2)" in doc.titles(3)


def test_the_demo_timeline_has_one_row_per_event_as_recorded(recovered) -> None:
    _path, doc, store = recovered
    [timeline] = doc.tables_under("Timeline")
    events = store.events("INC-1")
    assert len(timeline.rows) == len(events) > 20
    assert timeline.rows == [
        [e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.kind, e.message] for e in events
    ]


def test_the_demo_response_shows_the_first_run_did_everything_and_the_second_nothing(
    recovered,
) -> None:
    _path, doc, _store = recovered
    assert doc.titles(4) == [
        "RUN-1: runbook training-store-partial-load v1",
        "RUN-2: runbook training-store-partial-load v1",
    ]
    first, second = [t for t in doc.tables if t.header[:2] == ["Step", "Outcome"]]
    assert [cell.split(" ")[0] for cell in first.column("Step")] == STEPS
    assert first.column("Outcome") == ["ran"] * 5
    assert second.column("Outcome") == ["skipped"] * 5
    assert all(d.startswith("already done by RUN-1") for d in second.column("Detail"))


def test_the_demo_metrics_start_at_the_first_bad_load(recovered) -> None:
    _path, doc, store = recovered
    incident = store.get_incident("INC-1")
    alert = next(e for e in store.events("INC-1") if e.kind == "alert")
    since = datetime.fromisoformat(alert.data["since"])
    [metrics] = doc.tables_under("Metrics")
    by_name = {row[0]: row for row in metrics.rows}
    assert by_name["Time to detect (TTD)"][1] == "6h 20m" == _minutes(incident.opened_at - since)
    for name in ("Time to acknowledge (TTA)", "Time to mitigate (TTM)", "Time to resolve (TTR)"):
        assert by_name[name][1] != "unknown" and by_name[name][4] == ""


def test_the_demo_chain_verified(recovered) -> None:
    _path, doc, store = recovered
    count = len(store.events("INC-1"))
    assert (
        f"Timeline integrity: the hash chain of all {count} events verified when this draft was "
        "generated." in doc.text_under("Action items")
    )


def _minutes(delta: timedelta) -> str:
    hours, minutes = divmod(int(delta.total_seconds()) // 60, 60)
    return f"{hours}h {minutes}m"


def test_the_impact_separates_what_read_the_bad_data_from_what_is_merely_downstream(
    recovered,
) -> None:
    path, _doc, _store = recovered
    text = path.read_text(encoding="utf-8")
    impact = text.split("## Impact", 1)[1].split("## Timeline", 1)[0]
    assert "- Models contaminated: demand-forecast; downstream but clean: reorder-recommender." in (
        impact
    )
    assert "- Feeds contaminated: pricing-feed, tax-feed." in impact
    assert "- Contaminated (read the bad data, from the run history): demand-forecast (5)" in impact
    clean = impact.split("### Downstream, clean", 1)[1].split("###", 1)[0]
    assert "`component:default/reorder-recommender`" in clean and "before the window" in clean
    assert "Models touched" not in impact
