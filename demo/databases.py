"""The demo's four SQLite databases, seeded with an ordinary week before the incident.

- `ops.db`: the operations database, raw orders per business day, and the job table
  (`nightly-etl`, with `paused`) plus its run history;
- `training.db`: one load per day (`loads`) and its rows (`samples`); `samples_snapshot` holds
  what a recovery set aside before deleting;
- `registry.db`: model versions (trained on which loads) and aliases (`champion`);
- `feeds.db`: published pricing and tax feed versions, and which one is active.

Every table the runbooks change has triggers writing `audit_log` (table, operation, row key), so
tests can count effects in the databases themselves: exactly once means one audit row per
changed row, however often the process was killed.

All times are ISO 8601 UTC text with seconds (`2024-06-08T02:00:00+00:00`), so comparing them
as text in SQL orders them correctly.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import random
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType

ETL_SCRIPT = Path(__file__).resolve().parent / "workspace" / "bin" / "nightly_etl.py"
DATABASES = ("ops.db", "training.db", "registry.db", "feeds.db")
HISTORY_DAYS = 4
ORDERS_PER_DAY = 240
SHOPS = ("berlin-1", "berlin-2", "hamburg-1", "munich-1", "cologne-1")
SKUS = tuple(f"sku-{n:04d}" for n in range(1, 41))

OPS_SCHEMA = """
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    shop TEXT NOT NULL,
    sku TEXT NOT NULL,
    qty INTEGER NOT NULL,
    unit_price REAL NOT NULL
);
CREATE INDEX orders_day ON orders (day);
CREATE TABLE jobs (
    name TEXT PRIMARY KEY,
    schedule TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    last_load_id TEXT,
    last_status TEXT,
    updated_at TEXT
);
CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL REFERENCES jobs (name),
    load_id TEXT NOT NULL,
    day TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    rows INTEGER NOT NULL DEFAULT 0,
    triggered_by TEXT NOT NULL
);
"""

TRAINING_SCHEMA = """
CREATE TABLE loads (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL
        CHECK (status IN ('running', 'complete', 'partial', 'failed', 'discarded')),
    rows INTEGER NOT NULL DEFAULT 0,
    triggered_by TEXT NOT NULL
);
CREATE TABLE samples (
    id INTEGER PRIMARY KEY,
    load_id TEXT NOT NULL REFERENCES loads (id),
    order_id INTEGER NOT NULL,
    day TEXT NOT NULL,
    shop TEXT NOT NULL,
    sku TEXT NOT NULL,
    qty INTEGER NOT NULL,
    unit_price REAL NOT NULL
);
CREATE INDEX samples_load ON samples (load_id);
CREATE TABLE samples_snapshot (
    snapshot_id TEXT NOT NULL,
    sample_id INTEGER NOT NULL,
    load_id TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    day TEXT NOT NULL,
    shop TEXT NOT NULL,
    sku TEXT NOT NULL,
    qty INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    PRIMARY KEY (snapshot_id, sample_id)
);
"""

REGISTRY_SCHEMA = """
CREATE TABLE model_versions (
    model TEXT NOT NULL,
    version INTEGER NOT NULL,
    trained_at TEXT NOT NULL,
    training_loads TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'quarantined')),
    note TEXT,
    PRIMARY KEY (model, version)
);
CREATE TABLE aliases (
    model TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
);
"""

FEEDS_SCHEMA = """
CREATE TABLE feed_versions (
    feed TEXT NOT NULL,
    version INTEGER NOT NULL,
    published_at TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'withdrawn')),
    PRIMARY KEY (feed, version)
);
CREATE TABLE active_feeds (
    feed TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (feed, version) REFERENCES feed_versions (feed, version)
);
"""

# table -> SQL expression naming the changed row (NEW/OLD are substituted)
AUDITED: dict[str, dict[str, str]] = {
    "ops.db": {"jobs": "{r}.name", "job_runs": "{r}.id"},
    "training.db": {
        "loads": "{r}.id",
        "samples": "{r}.id",
        "samples_snapshot": "{r}.snapshot_id || '/' || {r}.sample_id",
    },
    "registry.db": {
        "model_versions": "{r}.model || '@' || {r}.version",
        "aliases": "{r}.model || '/' || {r}.alias",
    },
    "feeds.db": {
        "feed_versions": "{r}.feed || '@' || {r}.version",
        "active_feeds": "{r}.feed",
    },
}
SCHEMAS = {
    "ops.db": OPS_SCHEMA,
    "training.db": TRAINING_SCHEMA,
    "registry.db": REGISTRY_SCHEMA,
    "feeds.db": FEEDS_SCHEMA,
}
MODELS = ("demand-forecast", "reorder-recommender")
FEEDS = {"pricing-feed": "demand-forecast", "tax-feed": "pricing-feed"}


@dataclass(frozen=True)
class Timeline:
    """The moments the demo is built around, all relative to one `now`.

    `day` is the business day whose nightly load broke; `first_bad_load` (the `since` of the
    recovery runbooks) is when that load started: the scheduled 02:00 UTC run at least seven
    hours before `now`, so the whole weekend of seed 000 fits before the operator arrives.
    """

    now: datetime

    @property
    def first_bad_load(self) -> datetime:
        latest = _second(self.now - timedelta(hours=7))
        scheduled = latest.replace(hour=2, minute=0, second=0)
        return scheduled if scheduled <= latest else scheduled - timedelta(days=1)

    @property
    def day(self) -> date:
        return self.first_bad_load.date() - timedelta(days=1)

    def history(self) -> list[date]:
        """The business days before `day`, oldest first, each loaded and trained normally."""
        return [self.day - timedelta(days=n) for n in range(HISTORY_DAYS, 0, -1)]

    def nightly(self, day: date) -> datetime:
        """When the normal nightly load of `day` ran: 02:00 UTC the next morning."""
        return datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC).replace(hour=2)


def iso(moment: datetime) -> str:
    return _second(moment).isoformat()


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def connect(path: Path, *, durable: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit). Seeding is not `durable`:
    a crash mid-seed is fixed by seeding again, so it skips the fsync of every commit."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'OFF'}")
    return conn


def audit_triggers(db_name: str) -> str:
    statements = [
        "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, "
        "op TEXT NOT NULL, row_key TEXT NOT NULL, "
        "at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')));"
    ]
    for table, key in AUDITED[db_name].items():
        for op, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            statements.append(
                f"CREATE TRIGGER audit_{table}_{op.lower()} AFTER {op} ON {table} BEGIN "
                f"INSERT INTO audit_log (tbl, op, row_key) VALUES "
                f"('{table}', '{op.lower()}', {key.format(r=row)}); END;"
            )
    return "\n".join(statements)


def create_databases(data_dir: Path, now: datetime | None = None) -> Timeline:
    """Create the four databases from scratch (replacing any there) with a normal history."""
    timeline = Timeline(_second(now or datetime.now(UTC)))
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in DATABASES:
        for suffix in ("", "-journal", "-wal", "-shm"):
            (data_dir / f"{name}{suffix}").unlink(missing_ok=True)
        with closing(connect(data_dir / name)) as conn:
            conn.executescript("BEGIN;\n" + SCHEMAS[name] + audit_triggers(name) + "\nCOMMIT;")
    _seed(data_dir, timeline)
    return timeline


def databases_exist(data_dir: Path) -> bool:
    return all((data_dir / name).is_file() for name in DATABASES)


def _seed(data_dir: Path, timeline: Timeline) -> None:
    days = [*timeline.history(), timeline.day]
    rng = random.Random(0)  # seed 000: the same rows every time
    with closing(connect(data_dir / "ops.db")) as ops:
        ops.execute("BEGIN")
        ops.executemany(
            "INSERT INTO orders (day, shop, sku, qty, unit_price) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    day.isoformat(),
                    rng.choice(SHOPS),
                    rng.choice(SKUS),
                    rng.randint(1, 12),
                    round(rng.uniform(1.5, 90.0), 2),
                )
                for day in days
                for _ in range(ORDERS_PER_DAY)
            ],
        )
        ops.execute(
            "INSERT INTO jobs (name, schedule, paused, last_status) "
            "VALUES ('nightly-etl', '0 2 * * *', 0, NULL)"
        )
        ops.execute("COMMIT")
    for day in timeline.history():
        _nightly_load(data_dir, day, timeline.nightly(day))
    _seed_registry(data_dir, timeline)
    _seed_feeds(data_dir, timeline)
    for name in DATABASES:  # the seed is history, not effects to count
        with closing(connect(data_dir / name)) as conn:
            conn.execute("DELETE FROM audit_log")


def _nightly_load(data_dir: Path, day: date, started: datetime) -> None:
    """A normal, successful nightly load of one day, by the demo's own ETL script."""
    run_etl(
        data_dir,
        "load",
        "--day",
        day.isoformat(),
        "--load-id",
        f"etl-{day.isoformat()}",
        "--started-at",
        iso(started),
        "--finished-at",
        iso(started + timedelta(minutes=12)),
    )


def run_etl(data_dir: Path, *args: str) -> int:
    """Run the bundled `bin/nightly_etl.py` in this process against `data_dir` (quietly)."""
    module = _etl_module()
    module.SYNCHRONOUS = "OFF"
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        argv = ["--ops", str(data_dir / "ops.db"), "--training", str(data_dir / "training.db")]
        return int(module.main([*argv, *args]))


def _etl_module() -> ModuleType:
    name = "oncall_demo_nightly_etl"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ETL_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _seed_registry(data_dir: Path, timeline: Timeline) -> None:
    with closing(connect(data_dir / "registry.db")) as registry:
        registry.execute("BEGIN")
        for model in MODELS:
            loads: list[str] = []
            for version, day in enumerate(timeline.history(), start=1):
                loads.append(f"etl-{day.isoformat()}")
                trained = timeline.nightly(day) + timedelta(hours=3)
                registry.execute(
                    "INSERT INTO model_versions (model, version, trained_at, training_loads) "
                    "VALUES (?, ?, ?, ?)",
                    (model, version, iso(trained), ",".join(loads[-3:])),
                )
            registry.execute(
                "INSERT INTO aliases (model, alias, version, updated_at) "
                "VALUES (?, 'champion', ?, ?)",
                (model, len(loads), iso(trained)),
            )
        registry.execute("COMMIT")


def _seed_feeds(data_dir: Path, timeline: Timeline) -> None:
    with closing(connect(data_dir / "feeds.db")) as feeds:
        feeds.execute("BEGIN")
        for offset, (feed, source) in enumerate(FEEDS.items()):
            for version, day in enumerate(timeline.history(), start=1):
                published = timeline.nightly(day) + timedelta(hours=4, minutes=10 * offset)
                feeds.execute(
                    "INSERT INTO feed_versions (feed, version, published_at, source) "
                    "VALUES (?, ?, ?, ?)",
                    (feed, version, iso(published), f"{source}@{version}"),
                )
            feeds.execute(
                "INSERT INTO active_feeds (feed, version, updated_at) VALUES (?, ?, ?)",
                (feed, HISTORY_DAYS, iso(published)),
            )
        feeds.execute("COMMIT")


class closing:
    """`with connect(...) as conn` that closes (sqlite3's own context manager only commits)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *_exc: object) -> None:
        self.conn.close()


def audit_rows(data_dir: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Every audited change since the seed, per database: (table, operation, row key)."""
    result: dict[str, list[tuple[str, str, str]]] = {}
    for name in DATABASES:
        with closing(connect(data_dir / name)) as conn:
            result[name] = [
                tuple(row)
                for row in conn.execute("SELECT tbl, op, row_key FROM audit_log ORDER BY id")
            ]
    return result


def table_counts(data_dir: Path, tables: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Row counts of (database, table) pairs, for reports and tests."""
    counts: dict[str, int] = {}
    for db, table in tables:
        with closing(connect(data_dir / db)) as conn:
            counts[f"{db}:{table}"] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return counts
