"""Benchmark: the incident timeline's append rate and verification time (issue 4).

    .venv/bin/python -m bench.timeline [--events 5000] [--processes 4] [--verify-events 10000]
                                       [--postgres URL] [--json]

Rows, each measured on a fresh store (a temporary SQLite file; with `--postgres`, a throwaway
database created on that server and dropped afterwards):

- appends/s, 1 process: `Store.append_event` one after another, each its own transaction with
  the hash chain, as the CLI and the runbook engine call it. Target on SQLite: >= 2,000/s.
- appends/s, N processes together: N spawned processes appending to the same incident at once,
  counted from the first append of any to the last of all (contention on one chain head);
- baseline (SQLite only): raw `sqlite3` inserting rows of the same size, one `BEGIN IMMEDIATE`
  transaction each, same PRAGMAs, no SQLAlchemy and no hashing: the floor for the first row;
- verify: `Store.verify` over an incident of `--verify-events` events (median of 3), and the
  hashing alone (recomputing the same hashes from rows already in memory) for comparison.

Every run checks the result: the chain verifies and holds exactly the events appended. Progress
goes to stderr; the exit code is 0 whatever the timings (read the `result` column).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as StartSignal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from incidents.canonical import event_hash
from incidents.models import EVENTS
from incidents.store import Store

ASSET = "resource:default/training-db"
APPEND_TARGET = 2000.0  # appends/s, single process, SQLite
SPAWN = multiprocessing.get_context("spawn")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _append(store: Store, incident_id: str, actor: str, count: int) -> None:
    for n in range(count):
        store.append_event(
            incident_id, "step_done", f"{actor}: step {n} done", actor, {"n": n, "rows": 1234}
        )


def _worker(
    url: str, incident_id: str, actor: str, count: int, start: StartSignal, times: Queue[Any]
) -> None:
    """One of the N processes: open, wait for the others, append, report (start, end)."""
    store = Store.open(url, busy_timeout=120)
    try:
        start.wait()
        began = time.time()
        _append(store, incident_id, actor, count)
        times.put((began, time.time()))
    finally:
        store.close()


def _check(store: Store, incident_id: str, expected: int) -> str:
    report = store.verify(incident_id)
    if not report.ok or report.count != expected:
        return f"chain NOT valid: {report.count}/{expected} events, {report.reason}"
    return f"chain valid, {expected} events"


def appends_one_process(url: str, events: int) -> tuple[float, str]:
    with Store.open(url) as store:
        incident = store.open_incident("bench: one process", ASSET, actor="bench")
        began = time.perf_counter()
        _append(store, incident.id, "bench", events)
        rate = events / (time.perf_counter() - began)
        return rate, _check(store, incident.id, events + 1)


def appends_many_processes(url: str, processes: int, events: int) -> tuple[float, str]:
    """`events` in total, split evenly; the rate is over the span all of them were appending."""
    with Store.open(url) as store:
        incident = store.open_incident(f"bench: {processes} processes", ASSET, actor="bench")
    each = events // processes
    start, times = SPAWN.Event(), SPAWN.Queue()
    workers = [
        SPAWN.Process(target=_worker, args=(url, incident.id, f"w{i}", each, start, times))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    start.set()
    spans = [times.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    if any(worker.exitcode != 0 for worker in workers):
        return 0.0, "a worker failed"
    elapsed = max(end for _, end in spans) - min(began for began, _ in spans)
    with Store.open(url) as store:
        return each * processes / elapsed, _check(store, incident.id, each * processes + 1)


def raw_sqlite_baseline(path: Path, events: int) -> float:
    """The floor: one small transaction per row with the store's PRAGMAs, nothing else."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, incident TEXT, seq INT, at TEXT, actor TEXT, "
        "kind TEXT, message TEXT, data TEXT, prev_hash TEXT, hash TEXT)"
    )
    row = (
        "INC-1",
        0,
        "2026-11-27 03:00:00.000000",
        "bench",
        "step_done",
        "bench: step 0 done",
        '{"n":0,"rows":1234}',
        "0" * 64,
        "f" * 64,
    )
    began = time.perf_counter()
    for n in range(events):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO t VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row[:1], n, *row[2:])
        )
        conn.execute("COMMIT")
    rate = events / (time.perf_counter() - began)
    conn.close()
    return rate


def verify_times(url: str, events: int) -> tuple[float, float, str]:
    """(median seconds of `Store.verify`, seconds of the hashing alone, check)."""
    with Store.open(url) as store:
        incident = store.open_incident("bench: verify", ASSET, actor="bench")
        _progress(f"  recording {events} events to verify ...")
        _append(store, incident.id, "bench", events - 1)
        timings = []
        for _ in range(3):
            began = time.perf_counter()
            report = store.verify(incident.id)
            timings.append(time.perf_counter() - began)
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(EVENTS).where(EVENTS.c.incident_id == incident.id).order_by(EVENTS.c.seq)
            ).all()
        began = time.perf_counter()
        for row in rows:
            event_hash(
                incident_id=incident.id,
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                kind=row.kind,
                message=row.message,
                data=json.loads(row.data),
                prev_hash=row.prev_hash,
            )
        hashing = time.perf_counter() - began
        check = "chain valid" if report.ok and report.count == events else f"NOT valid: {report}"
        return statistics.median(timings), hashing, f"{check}, {report.count} events"


@contextmanager
def throwaway_postgres(server_url: str) -> Iterator[str]:
    """A fresh database on the given server for the length of the benchmark."""
    admin = make_url(server_url)
    name = f"oncall_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _row(
    backend: str,
    name: str,
    value: float,
    unit: str,
    target: float | None,
    note: str,
    higher_is_better: bool = True,
) -> dict[str, Any]:
    if target is None:
        result = "-"
    else:
        result = "ok" if (value >= target if higher_is_better else value <= target) else "SLOW"
    return {
        "backend": backend,
        "row": name,
        "value": round(value, 4),
        "unit": unit,
        "target": target,
        "result": result,
        "note": note,
    }


def measure(
    backend: str, url_for: Callable[[], Any], args: argparse.Namespace, tmp: Path | None
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    target = APPEND_TARGET if backend == "sqlite" else None
    with url_for() as url:
        _progress(f"{backend}: {args.events} appends, one process ...")
        rate, check = appends_one_process(url, args.events)
        rows.append(_row(backend, "appends, 1 process", rate, "/s", target, check))
    if tmp is not None:
        _progress(f"{backend}: raw sqlite3 baseline ...")
        rows.append(
            _row(
                backend,
                "baseline: raw sqlite3",
                raw_sqlite_baseline(tmp / "raw.db", args.events),
                "/s",
                None,
                "same PRAGMAs and row size, no hash, no SQLAlchemy",
            )
        )
    with url_for() as url:
        _progress(f"{backend}: {args.events} appends over {args.processes} processes ...")
        rate, check = appends_many_processes(url, args.processes, args.events)
        rows.append(
            _row(
                backend,
                f"appends, {args.processes} processes",
                rate,
                "/s",
                None,
                f"{check}; one incident, all at once",
            )
        )
    with url_for() as url:
        _progress(f"{backend}: verify {args.verify_events} events ...")
        seconds, hashing, check = verify_times(url, args.verify_events)
        rows.append(
            _row(backend, f"verify {args.verify_events:,} events", seconds, "s", None, check)
        )
        rows.append(
            _row(
                backend,
                "  of which hashing",
                hashing,
                "s",
                None,
                "the same hashes from rows in memory",
            )
        )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'backend':<10} {'row':<24} {'value':>12} {'target':>10} {'result':<7} note")
    print("-" * 100)
    for r in rows:
        if r["unit"] == "/s":
            value, target = (
                f"{r['value']:,.0f}/s",
                (f">= {r['target']:,.0f}/s" if r["target"] else ""),
            )
        else:
            value, target = f"{r['value'] * 1000:,.0f} ms", ""
        print(
            f"{r['backend']:<10} {r['row']:<24} {value:>12} {target:>10} {r['result']:<7} {r['note']}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.timeline", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--events", type=int, default=5000, help="appends per append row")
    parser.add_argument("--processes", type=int, default=4, help="processes for the concurrent row")
    parser.add_argument(
        "--verify-events", type=int, default=10_000, help="timeline length to verify"
    )
    parser.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL server")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="oncall-bench-timeline-") as tmp_name:
        tmp = Path(tmp_name)
        counter = iter(range(1_000_000))

        @contextmanager
        def fresh_sqlite() -> Iterator[str]:
            yield f"sqlite:///{tmp / f'state-{next(counter)}.db'}"

        rows += measure("sqlite", fresh_sqlite, args, tmp)
    if args.postgres:
        rows += measure("postgresql", lambda: throwaway_postgres(args.postgres), args, None)
    if args.json:
        print(
            json.dumps(
                {
                    "events": args.events,
                    "processes": args.processes,
                    "verify_events": args.verify_events,
                    "rows": rows,
                },
                indent=2,
            )
        )
    else:
        print_table(rows)


if __name__ == "__main__":
    main()
