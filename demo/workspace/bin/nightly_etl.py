#!/usr/bin/env python3
"""The demo's nightly ETL: copies one business day of orders from ops.db into training.db.

Standalone (standard library only) so a runbook can run it with any `python3`:

    python3 bin/nightly_etl.py load --day 2024-06-07 --load-id reload-2024-06-07-inc-1
    python3 bin/nightly_etl.py verify --day 2024-06-07

`load` is idempotent by load id and by day: a load id that is already complete, or a day that
already has a complete load, is reported and nothing is written; the rows of one load are
written in one transaction, so a crash leaves no partial batch. `--fail-after N` reproduces how
the old job behaved the weekend it broke: it committed rows in batches as it went and died after
N rows, leaving a partial batch behind (`oncall demo break` uses it).

`verify` compares the day's row count in ops.db with the complete load in training.db and exits 1
when they differ, or when partial batches of that day remain.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

BATCH = 50
#: fsync on commit; the demo's seeding (many loads at once, in-process) turns it off for speed.
SYNCHRONOUS = "FULL"


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise SystemExit(f"nightly_etl: {path} does not exist (run `oncall demo init`)")
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
    return conn


def load(args: argparse.Namespace) -> int:
    ops = connect(Path(args.ops))
    training = connect(Path(args.training))
    started = args.started_at or now_iso()
    existing = training.execute(
        "SELECT status, rows FROM loads WHERE id = ?", (args.load_id,)
    ).fetchone()
    if existing and existing[0] == "complete":
        return report({"load_id": args.load_id, "status": "already loaded", "rows": existing[1]})
    if existing:
        print(
            f"nightly_etl: load {args.load_id} exists with status {existing[0]}; "
            "discard it before loading again",
            file=sys.stderr,
        )
        return 3
    done = training.execute(
        "SELECT id, rows FROM loads WHERE day = ? AND status = 'complete'", (args.day,)
    ).fetchone()
    if done and args.fail_after is None:
        return report({"load_id": done[0], "status": "day already loaded", "rows": done[1]})
    rows = ops.execute(
        "SELECT id, day, shop, sku, qty, unit_price FROM orders WHERE day = ? ORDER BY id",
        (args.day,),
    ).fetchall()
    if args.fail_after is not None:
        return legacy_partial_load(ops, training, args, started, rows)
    training.execute("BEGIN IMMEDIATE")
    training.execute(
        "INSERT INTO loads (id, day, started_at, finished_at, status, rows, triggered_by) "
        "VALUES (?, ?, ?, NULL, 'running', 0, ?)",
        (args.load_id, args.day, started, args.triggered_by),
    )
    insert_samples(training, args.load_id, rows)
    training.execute(
        "UPDATE loads SET status = 'complete', rows = ?, finished_at = ? WHERE id = ?",
        (len(rows), args.finished_at or now_iso(), args.load_id),
    )
    training.execute("COMMIT")
    record_job_run(ops, args, started, "succeeded", len(rows))
    return report({"load_id": args.load_id, "status": "loaded", "rows": len(rows)})


def legacy_partial_load(
    ops: sqlite3.Connection,
    training: sqlite3.Connection,
    args: argparse.Namespace,
    started: str,
    rows: list[tuple],
) -> int:
    """The old job: commit as it goes, die after `fail_after` rows, leave a partial batch."""
    training.execute(
        "INSERT INTO loads (id, day, started_at, finished_at, status, rows, triggered_by) "
        "VALUES (?, ?, ?, NULL, 'running', 0, ?)",
        (args.load_id, args.day, started, args.triggered_by),
    )
    written = 0
    for start in range(0, min(args.fail_after, len(rows)), BATCH):
        batch = rows[start : min(start + BATCH, args.fail_after)]
        training.execute("BEGIN")
        insert_samples(training, args.load_id, batch)
        training.execute("COMMIT")
        written += len(batch)
    training.execute(
        "UPDATE loads SET status = 'partial', rows = ?, finished_at = ? WHERE id = ?",
        (written, args.finished_at or started, args.load_id),
    )
    record_job_run(ops, args, started, "failed", written)
    print(f"nightly_etl: {args.load_id} died after {written} rows", file=sys.stderr)
    return 1


def insert_samples(training: sqlite3.Connection, load_id: str, rows: list[tuple]) -> None:
    training.executemany(
        "INSERT INTO samples (load_id, order_id, day, shop, sku, qty, unit_price) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(load_id, *row) for row in rows],
    )


def record_job_run(
    ops: sqlite3.Connection, args: argparse.Namespace, started: str, status: str, rows: int
) -> None:
    finished = args.finished_at or now_iso()
    ops.execute("BEGIN IMMEDIATE")
    ops.execute(
        "INSERT INTO job_runs (job, load_id, day, started_at, finished_at, status, rows, "
        "triggered_by) VALUES ('nightly-etl', ?, ?, ?, ?, ?, ?, ?)",
        (args.load_id, args.day, started, finished, status, rows, args.triggered_by),
    )
    ops.execute(
        "UPDATE jobs SET last_load_id = ?, last_status = ?, updated_at = ? WHERE name = 'nightly-etl'",
        (args.load_id, status, finished),
    )
    ops.execute("COMMIT")


def verify(args: argparse.Namespace) -> int:
    ops = connect(Path(args.ops))
    training = connect(Path(args.training))
    source = ops.execute("SELECT COUNT(*) FROM orders WHERE day = ?", (args.day,)).fetchone()[0]
    complete = training.execute(
        "SELECT COUNT(*), COALESCE(SUM(rows), 0) FROM loads WHERE day = ? AND status = 'complete'",
        (args.day,),
    ).fetchone()
    loaded = training.execute(
        "SELECT COUNT(*) FROM samples s JOIN loads l ON l.id = s.load_id "
        "WHERE l.day = ? AND l.status = 'complete'",
        (args.day,),
    ).fetchone()[0]
    partial = training.execute(
        "SELECT COUNT(*) FROM loads WHERE day = ? AND status IN ('partial', 'running', 'failed')",
        (args.day,),
    ).fetchone()[0]
    result = {
        "day": args.day,
        "source_rows": source,
        "loaded_rows": loaded,
        "complete_loads": complete[0],
        "partial_loads": partial,
    }
    report(result)
    ok = complete[0] == 1 and loaded == source and partial == 0
    return 0 if ok else 1


def report(result: dict[str, object]) -> int:
    print(json.dumps(result, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nightly_etl", description=__doc__.splitlines()[0])
    parser.add_argument("--ops", default="data/ops.db")
    parser.add_argument("--training", default="data/training.db")
    commands = parser.add_subparsers(dest="command", required=True)
    load_cmd = commands.add_parser("load", help="load one day of orders")
    load_cmd.add_argument("--day", required=True)
    load_cmd.add_argument("--load-id", required=True)
    load_cmd.add_argument("--triggered-by", default="schedule")
    load_cmd.add_argument("--started-at")
    load_cmd.add_argument("--finished-at")
    load_cmd.add_argument("--fail-after", type=int)
    verify_cmd = commands.add_parser(
        "verify", help="compare a day's rows in ops.db and training.db"
    )
    verify_cmd.add_argument("--day", required=True)
    args = parser.parse_args(argv)
    return load(args) if args.command == "load" else verify(args)


if __name__ == "__main__":
    sys.exit(main())
