"""Benchmark: a postmortem draft for an incident with a 10,000-event timeline (issue 6).

    .venv/bin/python -m bench.postmortem [--events 10000] [--repeats 5] [--json]

Records a real incident on a real SQLite store (a temporary file; about 6 s to append 10,000
events one by one through `Store.append_event`, as the engine and the CLI do), against the demo
catalog, then times each stage of `oncall postmortem` in process, median of `--repeats`:

- read + verify: `store.events` and `store.verify` (the hash chain walk), what the build reads;
- build: `build_draft` end to end (the read above, runs and ledger, blast radius, metrics);
- render: `render_markdown` with the bundled template: the row with the target (≤ 0.5 s);
- baseline: the same timeline table built by a plain loop with the same escaping, no Jinja2:
  the floor the template's overhead is measured against;
- write: `write_draft` (stamp, temp file, link into place).

The rendered markdown is parsed back with markdown-it-py and the timeline must have exactly one
row per event, so a fast but wrong renderer cannot pass. Progress goes to stderr; the exit code
is 0 whatever the timings (read the `result` column).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from graph.loader import load_catalog
from incidents.store import Store
from postmortems.build import build_draft
from postmortems.markdown import escape_cell
from postmortems.render import choose_template, render_markdown
from postmortems.writer import write_draft

REPO = Path(__file__).resolve().parent.parent
DEMO_CATALOG = REPO / "demo" / "workspace" / "catalog"
ASSET = "resource:default/training-db"
RENDER_TARGET_S = 0.5
T0 = datetime(2024, 5, 4, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=250)
        return self.now


def record(store: Store, events: int) -> str:
    """An incident whose timeline has exactly `events` events of every kind the draft reads."""
    incident = store.open_incident("Training DB: 4 partial loads", ASSET, "SEV1", actor="ops")
    store.append_event(
        incident.id, "alert", "load failed", "alertmanager", {"started_at": "2024-05-04T01:00:00Z"}
    )
    run = store.create_run(incident.id, "training-store-partial-load", 3, "0" * 64, {}, "ops")
    remaining = events - 5  # opened, alert, and three status changes at the end
    for n in range(remaining):
        if n % 10 == 0:
            kind, data = "step_done", {"run": run.id, "step": f"step-{n % 50}"}
            message = f"step-{n % 50}: done"
        elif n % 10 == 1:
            kind, data, message = "page", {}, f"paged team-{n % 7}"
        else:
            kind, data = "note", {"n": n}
            message = f"note {n}: rows | {n} partial\nsee `SELECT * FROM loads` <b>{n}</b>"
        store.append_event(incident.id, kind, message, f"user:default/person-{n % 13}", data)
        if n and n % 2000 == 0:
            print(f"  {n + 2} events recorded", file=sys.stderr)
    store.set_run_status(run.id, "done")
    for status in ("acknowledged", "mitigated", "resolved"):
        store.set_status(incident.id, status, actor="ops")
    return incident.id


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times = []
    value = None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def baseline_table(rows: Any) -> str:
    lines = ["| Time (UTC) | Actor | Event | What |", "|---|---|---|---|"]
    for e in rows:
        lines.append(
            f"| {e.at:%Y-%m-%d %H:%M:%S} | {escape_cell(e.actor)} | {escape_cell(e.kind)} "
            f"| {escape_cell(e.what)} |"
        )
    return "\n".join(lines) + "\n"


def timeline_rows(markdown: str) -> int:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    heading = None
    rows = 0
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            heading = tokens[i + 1].content
        elif tok.type == "tr_open" and heading == "Timeline":
            rows += 1
    return rows - 1  # the header row


def run(events: int, repeats: int) -> list[dict[str, Any]]:
    catalog = load_catalog([DEMO_CATALOG])
    with tempfile.TemporaryDirectory(prefix="oncall-bench-pm-") as tmp:
        print(f"recording {events} events on SQLite in {tmp} ...", file=sys.stderr)
        store = Store.open(f"sqlite:///{Path(tmp) / 'state.db'}", clock=Clock())
        try:
            start = time.perf_counter()
            incident_id = record(store, events)
            record_s = time.perf_counter() - start

            def read_and_verify() -> int:
                store.events(incident_id)
                return store.verify(incident_id).count

            read_s, count = median_time(read_and_verify, repeats)
            build_s, draft = median_time(lambda: build_draft(store, catalog, incident_id), repeats)
        finally:
            store.close()
        choice = choose_template(None, None)
        render_s, markdown = median_time(lambda: render_markdown(draft, choice), repeats)
        base_s, _ = median_time(lambda: baseline_table(draft.timeline), repeats)
        target = Path(tmp) / "postmortems" / "draft.md"
        write_s, _ = median_time(lambda: write_draft(markdown, target, incident_id), repeats)
        parsed = timeline_rows(markdown)
    correct = parsed == events == count == len(draft.timeline)
    return [
        _row("record (setup, once)", record_s, None, f"{events} x append_event"),
        _row("read + verify chain", read_s, None, f"{count} events"),
        _row("build_draft", build_s, None, "read, runs, blast radius, metrics"),
        _row("render (bundled template)", render_s, RENDER_TARGET_S, f"{len(markdown):,} chars"),
        _row("baseline: plain loop table", base_s, None, "same escaping, no Jinja2"),
        _row("write_draft", write_s, None, "stamp + atomic write"),
        {
            "row": "timeline rows parsed back",
            "seconds": None,
            "target": events,
            "result": "ok" if correct else "WRONG",
            "note": f"{parsed} rows for {events} events",
        },
    ]


def _row(name: str, seconds: float, target: float | None, note: str) -> dict[str, Any]:
    result = "" if target is None else ("ok" if seconds <= target else "slow")
    return {"row": name, "seconds": seconds, "target": target, "result": result, "note": note}


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'row':<28} {'time':>10} {'target':>10} {'result':<7} note")
    print("-" * 80)
    for r in rows:
        shown = "" if r["seconds"] is None else f"{r['seconds'] * 1000:.1f} ms"
        target = r["target"]
        if isinstance(target, float):
            target = f"≤ {target * 1000:.0f} ms"
        print(f"{r['row']:<28} {shown:>10} {target or '':>10} {r['result']:<7} {r['note']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.postmortem", description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.events < 5:
        parser.error("--events must be at least 5")
    rows = run(args.events, max(1, args.repeats))
    if args.json:
        print(json.dumps({"events": args.events, "rows": rows}, indent=2))
    else:
        print_table(rows)


if __name__ == "__main__":
    main()
