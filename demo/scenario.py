"""Seed 000, replayed: the weekend the nightly ETL broke, and starting over.

`break_workspace` re-seeds the databases (so the scenario is exact every time) and then does what
happened, in order, at times relative to now: the nightly load fails mid-way (a partial batch),
the automatic retry fails too, an operator resubmits the job and the scheduler's retry runs at
the same moment (two more partial batches: four in all, overlapping); a demand-forecast version
is trained on them and promoted to champion; the pricing and tax feeds are republished from it;
the row-count alert fires and an incident is opened on training-db with the alert on its
timeline. The whole weekend also goes into the store as OpenLineage run history
(`demo/run_history.py`), which is what `oncall contamination` and `oncall plan` read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from demo.databases import (
    DATABASES,
    FEEDS,
    Timeline,
    closing,
    connect,
    create_databases,
    iso,
    run_etl,
)
from demo.errors import DemoError
from demo.install import data_dir, require_demo
from demo.run_history import weekend_events

if TYPE_CHECKING:
    from incidents.store import Store

TRAINING_DB = "resource:default/training-db"
RUN_HISTORY_SOURCE = "oncall demo break"
#: (minutes after the first bad load, load id suffix, rows written before dying, triggered by)
PARTIAL_LOADS = (
    (0, "0200", 90, "schedule"),
    (30, "0230", 140, "auto-retry"),
    (300, "0700", 60, "ben.okafor (manual resubmit)"),
    (302, "0702", 200, "auto-retry"),
)


@dataclass(frozen=True)
class Breakage:
    """What `demo break` did, and how to recover: the incident and the runbook parameters."""

    incident_id: str
    day: str
    since: str
    partial_loads: tuple[str, ...]
    bad_model_version: int
    opened_at: str

    def recover_command(self) -> str:
        """The one recovery command: `oncall recover` runs the plan the run history gives,
        which is `commands()` in order (ana.lima owns training-db, whose reload is destructive)."""
        return f"oncall --as ana.lima recover {self.incident_id}"

    def commands(self) -> list[str]:
        """The recovery step by step, as the operator would type it by hand."""
        base = f"oncall --as ana.lima runbook run {{}} --incident {self.incident_id} --yes"
        since = f"--param since={self.since}"
        return [
            base.format("training-store-partial-load")
            + f" --yes-destructive --param asset=training-db {since} --param day={self.day}",
            base.format("model-rollback").replace("ana.lima", "erin.walsh")
            + f" --param asset=demand-forecast {since}",
            base.format("feed-backout").replace("ana.lima", "ines.duarte")
            + f" --param asset=pricing-feed {since}",
            base.format("feed-backout").replace("ana.lima", "ines.duarte")
            + f" --param asset=tax-feed {since}",
        ]

    def as_dict(self) -> dict[str, object]:
        return {
            "incident": self.incident_id,
            "day": self.day,
            "since": self.since,
            "partial_loads": list(self.partial_loads),
            "bad_model_version": self.bad_model_version,
            "opened_at": self.opened_at,
            "recover": self.recover_command(),
            "recovery": self.commands(),
        }


def break_workspace(
    root: Path, store: Store, *, actor: str = "alertmanager", now: datetime | None = None
) -> Breakage:
    """Reproduce seed 000 in the demo workspace at `root`; the incident goes into `store`.

    Refused, changing nothing, while an incident is still open in the demo: breaking it again
    would re-seed the databases under that incident's runs and open a second one beside it."""
    require_demo(root)
    still_open = store.list_incidents()
    if still_open:
        first = still_open[0]
        raise DemoError(
            f"the demo is already broken: {first.id} is {first.status} on {first.asset}; "
            f"recover it with `oncall recover {first.id}` or start over with "
            "`oncall demo reset`; nothing was changed"
        )
    data = data_dir(root)
    timeline = create_databases(data, now or datetime.now(UTC))
    t0 = timeline.first_bad_load
    day = timeline.day.isoformat()
    loads = []
    load_times: list[tuple[str, datetime, datetime]] = []
    for minutes, suffix, rows, who in PARTIAL_LOADS:
        load_id = f"etl-{day}-{suffix}"
        started = t0 + timedelta(minutes=minutes)
        run_etl(
            data,
            "load",
            "--day",
            day,
            "--load-id",
            load_id,
            "--fail-after",
            str(rows),
            "--triggered-by",
            who,
            "--started-at",
            iso(started),
            "--finished-at",
            iso(started + timedelta(minutes=4)),
        )
        loads.append(load_id)
        load_times.append((load_id, started, started + timedelta(minutes=4)))
    bad_version = _promote_bad_model(data, timeline, loads)
    _republish_feeds(data, timeline, bad_version)
    store.record_lineage_events(
        weekend_events(timeline, load_times, bad_version), source=RUN_HISTORY_SOURCE
    )
    for name in DATABASES:  # what happened is the scenario; the audit counts only the recovery
        with closing(connect(data / name)) as conn:
            conn.execute("DELETE FROM audit_log")
    opened = t0 + timedelta(hours=6, minutes=20)
    since = iso(t0)
    incident = store.open_incident(
        f"training-db: four partial loads of {day}",
        TRAINING_DB,
        "SEV1",
        actor=actor,
        at=opened,
    )
    loaded = _count(data / "training.db", "SELECT COUNT(*) FROM samples WHERE day = ?", day)
    source = _count(data / "ops.db", "SELECT COUNT(*) FROM orders WHERE day = ?", day)
    store.append_event(
        incident.id,
        "alert",
        f"TrainingRowCountMismatch: training-db holds {loaded} rows for {day} from 4 partial "
        f"loads; ops-db has {source}",
        actor,
        {
            "alert": "TrainingRowCountMismatch",
            "asset": TRAINING_DB,
            "day": day,
            "loaded_rows": loaded,
            "source_rows": source,
            "partial_loads": loads,
            "since": since,
        },
        at=opened,
    )
    return Breakage(incident.id, day, since, tuple(loads), bad_version, iso(opened))


def reset_workspace(root: Path, state_db: Path | None = None) -> None:
    """Back to a freshly initialised demo: databases re-seeded, and the local state store
    (incidents, runs, leases) removed when it is the workspace's own SQLite file."""
    require_demo(root)
    create_databases(data_dir(root))
    if state_db is not None:
        resolved = state_db.resolve()
        if root.resolve() not in resolved.parents:
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{resolved}{suffix}").unlink(missing_ok=True)


def _promote_bad_model(data: Path, timeline: Timeline, loads: list[str]) -> int:
    t0 = timeline.first_bad_load
    with closing(connect(data / "registry.db")) as registry:
        registry.execute("BEGIN")
        version = (
            1
            + registry.execute(
                "SELECT MAX(version) FROM model_versions WHERE model = 'demand-forecast'"
            ).fetchone()[0]
        )
        history = f"etl-{timeline.history()[-1].isoformat()}"
        registry.execute(
            "INSERT INTO model_versions (model, version, trained_at, training_loads) "
            "VALUES ('demand-forecast', ?, ?, ?)",
            (version, iso(t0 + timedelta(hours=5, minutes=30)), ",".join([history, *loads])),
        )
        registry.execute(
            "UPDATE aliases SET version = ?, updated_at = ? "
            "WHERE model = 'demand-forecast' AND alias = 'champion'",
            (version, iso(t0 + timedelta(hours=5, minutes=45))),
        )
        registry.execute("COMMIT")
    return int(version)


def _republish_feeds(data: Path, timeline: Timeline, model_version: int) -> None:
    t0 = timeline.first_bad_load
    with closing(connect(data / "feeds.db")) as feeds:
        feeds.execute("BEGIN")
        for offset, (feed, source) in enumerate(FEEDS.items()):
            version = (
                1
                + feeds.execute(
                    "SELECT MAX(version) FROM feed_versions WHERE feed = ?", (feed,)
                ).fetchone()[0]
            )
            published = iso(t0 + timedelta(hours=6, minutes=10 * offset))
            origin = (
                f"{source}@{model_version}"
                if source == "demand-forecast"
                else f"{source}@{version}"
            )
            feeds.execute(
                "INSERT INTO feed_versions (feed, version, published_at, source) "
                "VALUES (?, ?, ?, ?)",
                (feed, version, published, origin),
            )
            feeds.execute(
                "UPDATE active_feeds SET version = ?, updated_at = ? WHERE feed = ?",
                (version, published, feed),
            )
        feeds.execute("COMMIT")


def _count(path: Path, sql: str, *args: object) -> int:
    with closing(connect(path)) as conn:
        return int(conn.execute(sql, args).fetchone()[0])
