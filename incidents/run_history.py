"""OpenLineage run history: what ran, when, what it read and what it wrote.

The catalog says what *can* feed what; run history says what *did* (DESIGN.md, "Run history and
contamination"). `record_lineage_events` takes OpenLineage RunEvents as parsed JSON (from the
workspace's `lineage/` files or from the intake endpoint), checks the whole batch first and
stores nothing of it when one event is malformed, and is idempotent: an event is the same event
when its run id, event type and event time are, so replaying a file or a producer's retry
changes nothing. `run_records` hands the analysis (`graph.contamination`) plain records.

What a record means: a run *read* its inputs at its START time (or its first event's time when
no START was seen); it *wrote* its outputs at its end (COMPLETE, or FAIL/ABORT for a partial
write). Each run's summary row (`lineage_runs`) is recomputed from all of its events whenever a
new one arrives, under the run row's lock, so events arriving out of order or from several
processes at once still give one answer.

DatasetEvents and JobEvents (OpenLineage 2, no `run`) describe the catalog, not a run: they are
accepted and not stored here (they count as not new).
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    bindparam,
    func,
    select,
    tuple_,
    type_coerce,
    update,
)

from incidents.base import StoreBase
from incidents.canonical import as_utc
from incidents.errors import InvalidValue
from incidents.models import (
    LINEAGE_RUN_DATASETS,
    LINEAGE_RUN_EVENTS,
    LINEAGE_RUNS,
    LINEAGE_SOURCES,
    UTCDateTime,
)

RUN_EVENT_TYPES: tuple[str, ...] = ("START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER")
TERMINAL_TYPES: frozenset[str] = frozenset({"COMPLETE", "FAIL", "ABORT"})
PARTIAL_TYPES: frozenset[str] = frozenset({"FAIL", "ABORT"})
"""A run that ended this way may have written part of its output (the seed-000 partial load)."""
MAX_ID = 255
_PLACEHOLDER = re.compile(r"\{\{.*\}\}")
"""Template files (Marquez's seed data, OpenLineage's test expectations) hold `{{…}}` where a
real producer puts a run id or a time: such an event is an example, not something that ran."""
_CHUNK = 500  # ids per IN (...) list: well under every driver's parameter limit


@dataclass(frozen=True, slots=True)
class RunDataset:
    """A dataset as OpenLineage names it, with the `version` facet's `datasetVersion` if given."""

    namespace: str
    name: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run, summarised from its events; what `graph.contamination` reads."""

    run_id: str
    job_namespace: str
    job_name: str
    state: str
    started_at: datetime | None
    first_event_at: datetime
    last_event_at: datetime
    ended_at: datetime | None
    parent_run_id: str | None
    inputs: tuple[RunDataset, ...]
    outputs: tuple[RunDataset, ...]

    @property
    def read_at(self) -> datetime:
        """When the run read its inputs: its START, or its first event when no START was seen."""
        return self.started_at or self.first_event_at


@dataclass(frozen=True, slots=True)
class _Event:
    run_id: str
    event_type: str
    event_time: datetime
    job_namespace: str
    job_name: str
    parent: tuple[str, str | None, str | None] | None
    inputs: tuple[RunDataset, ...]
    outputs: tuple[RunDataset, ...]

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.run_id, self.event_type, self.event_time)


def lineage_event_problem(event: Any) -> str | None:
    """Why `event` cannot be recorded as run history, or None when it can (or is a Dataset/Job
    event, which is accepted and not stored). For readers that skip bad events one by one."""
    try:
        _parse(event)
    except _Malformed as exc:
        return str(exc)
    return None


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RunHistoryMixin(StoreBase):
    def record_lineage_events(self, events: Sequence[Mapping[str, Any]], *, source: str) -> int:
        """Store OpenLineage RunEvents; returns how many were new.

        `source` says where they came from (a file path, `intake`), kept with each event. The
        whole batch is checked before anything is written: a malformed event raises
        `InvalidValue` naming its position and what is wrong, and nothing of the batch is stored.
        """
        if not isinstance(source, str) or not source.strip():
            raise InvalidValue("the source of lineage events must be a non-empty text")
        parsed: dict[tuple[str, str, datetime], _Event] = {}
        for index, event in enumerate(events):
            try:
                item = _parse(event)
            except _Malformed as exc:
                raise InvalidValue(
                    f"lineage event {index + 1} of {len(events)} from {source}: {exc}; "
                    "nothing of this batch was stored"
                ) from None
            if item is not None:
                parsed.setdefault(item.key, item)
        if not parsed:
            return 0
        ordered = sorted(parsed.values(), key=lambda e: (e.event_time, e.run_id))
        now = self._now()
        with self._db.write() as conn:
            self._ensure_runs(conn, ordered)
            run_ids = sorted({e.run_id for e in ordered})
            if self.backend == "postgresql":  # SQLite's write lock already serialises writers
                for chunk in _chunks(run_ids):
                    conn.execute(
                        select(LINEAGE_RUNS.c.run_id)
                        .where(LINEAGE_RUNS.c.run_id.in_(chunk))
                        .order_by(LINEAGE_RUNS.c.run_id)
                        .with_for_update()
                    ).all()
            inserted = conn.execute(
                self._insert(LINEAGE_RUN_EVENTS)
                .on_conflict_do_nothing(index_elements=["run_id", "event_type", "event_time"])
                .returning(LINEAGE_RUN_EVENTS.c.run_id),
                [
                    {
                        "run_id": e.run_id,
                        "event_type": e.event_type,
                        "event_time": e.event_time,
                        "source": source,
                        "recorded_at": now,
                    }
                    for e in ordered
                ],
            ).all()
            if not inserted:
                return 0
            changed = {row.run_id for row in inserted}
            self._upsert_datasets(conn, [e for e in ordered if e.run_id in changed])
            self._summarise(conn, sorted(changed), ordered)
            return len(inserted)

    def run_records(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[RunRecord]:
        """Every run with an event at or after `since` and one at or before `until` (both
        optional), oldest first, with what it read and wrote."""
        conditions = []
        if since is not None:
            conditions.append(LINEAGE_RUNS.c.last_event_at >= as_utc(since))
        if until is not None:
            conditions.append(LINEAGE_RUNS.c.first_event_at <= as_utc(until))
        with self._db.read() as conn:
            runs = conn.execute(select(LINEAGE_RUNS).where(*conditions)).all()
            datasets = conn.execute(
                select(
                    LINEAGE_RUN_DATASETS.c.run_id,
                    LINEAGE_RUN_DATASETS.c.direction,
                    LINEAGE_RUN_DATASETS.c.namespace,
                    LINEAGE_RUN_DATASETS.c.name,
                    LINEAGE_RUN_DATASETS.c.version,
                )
                .join(LINEAGE_RUNS, LINEAGE_RUNS.c.run_id == LINEAGE_RUN_DATASETS.c.run_id)
                .where(*conditions)
                .order_by(LINEAGE_RUN_DATASETS.c.id)
            ).all()
        reads: dict[str, list[RunDataset]] = {}
        writes: dict[str, list[RunDataset]] = {}
        for row in datasets:
            target = reads if row.direction == "input" else writes
            target.setdefault(row.run_id, []).append(
                RunDataset(row.namespace, row.name, row.version)
            )
        records = [
            RunRecord(
                run_id=row.run_id,
                job_namespace=row.job_namespace,
                job_name=row.job_name,
                state=row.state,
                started_at=row.started_at,
                first_event_at=row.first_event_at,
                last_event_at=row.last_event_at,
                ended_at=row.ended_at,
                parent_run_id=row.parent_run_id,
                inputs=tuple(reads.get(row.run_id, ())),
                outputs=tuple(writes.get(row.run_id, ())),
            )
            for row in runs
        ]
        records.sort(key=lambda r: (r.read_at, r.run_id))
        return records

    def contamination_runs(self, since: datetime) -> list[RunRecord]:
        """What `graph.contamination.contamination(..., since)` needs of the history, and
        nothing more: its answer over these records is its answer over `run_records()`.

        - every run with an event at or after `since`, in full;
        - of the runs whose last event came before `since`, for each dataset, only the run
          that last wrote it (the one the analysis would name in "last written … by run …"),
          with that output and no inputs. Such a run read and wrote before anything was bad,
          so it cannot be tainted and repairs nothing: its last write is all that counts.

        A dataset some run wrote at or after `since` needs no earlier write: the later one is
        last. "Last" is the analysis's own order: end time, then read time and run id (the
        order `run_records` returns; at one end time, a write at the instant of its read comes
        after the others, which read earlier, so read time already orders it). Rows are
        read as plain columns and their times converted here, not through the ORM's type
        machinery: at 100k runs that conversion was most of the time.
        """
        start = as_utc(since)
        with self._db.read() as conn, _paused_gc():
            records = _runs_active_since(conn, start, self.backend)
            rewritten = {
                (d.namespace, d.name)
                for r in records
                if r.ended_at is not None and r.ended_at >= start
                for d in r.outputs
            }
            datasets = LINEAGE_RUN_DATASETS
            written = conn.execute(
                select(datasets.c.namespace, datasets.c.name)
                .where(datasets.c.direction == "output")
                .distinct()
            ).all()
            pairs = [(ns, name) for ns, name in written if (ns, name) not in rewritten]
            records.extend(_last_writers_before(conn, start, pairs, self.backend))
            records.sort(key=_read_order)
        return records

    def has_run_history(self) -> bool:
        """Whether any run was recorded (an analysis then has something to replay)."""
        with self._db.read() as conn:
            return conn.execute(select(LINEAGE_RUNS.c.run_id).limit(1)).first() is not None

    def lineage_run(self, run_id: str) -> RunRecord | None:
        """One run with what it read and wrote, or None when no event of it was recorded."""
        runs, datasets = LINEAGE_RUNS, LINEAGE_RUN_DATASETS
        with self._db.read() as conn:
            row = conn.execute(
                select(*_raw_run_columns(self.backend)).where(runs.c.run_id == run_id)
            ).first()
            if row is None:
                return None
            rows = conn.execute(
                select(
                    datasets.c.direction, datasets.c.namespace, datasets.c.name, datasets.c.version
                )
                .where(datasets.c.run_id == run_id)
                .order_by(datasets.c.id)
            ).all()
        reads = {run_id: [RunDataset(*r[1:]) for r in rows if r.direction == "input"]}
        writes = {run_id: [RunDataset(*r[1:]) for r in rows if r.direction != "input"]}
        return _raw_record(row, reads, writes, _time_parser(self.backend))

    def count_lineage_events(self) -> int:
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(LINEAGE_RUN_EVENTS)).scalar())

    def lineage_source_digest(self, path: str) -> str | None:
        """The content hash of `path` when its events were last recorded, or None."""
        with self._db.read() as conn:
            return conn.execute(
                select(LINEAGE_SOURCES.c.sha256).where(LINEAGE_SOURCES.c.path == path)
            ).scalar_one_or_none()

    def mark_lineage_source(self, path: str, sha256: str, events: int) -> None:
        """Remember that `path` with this content was recorded (so it is not parsed again)."""
        statement = self._insert(LINEAGE_SOURCES).values(
            path=path, sha256=sha256, events=events, recorded_at=self._now()
        )
        with self._db.write() as conn:
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["path"],
                    set_={
                        "sha256": statement.excluded.sha256,
                        "events": statement.excluded.events,
                        "recorded_at": statement.excluded.recorded_at,
                    },
                )
            )

    # -- internals ---------------------------------------------------------------------------

    def _ensure_runs(self, conn: Connection, events: list[_Event]) -> None:
        """A summary row for every run (placeholder values; `_summarise` sets the real ones)."""
        first: dict[str, _Event] = {}
        for event in events:
            first.setdefault(event.run_id, event)
        conn.execute(
            self._insert(LINEAGE_RUNS).on_conflict_do_nothing(index_elements=["run_id"]),
            [
                {
                    "run_id": e.run_id,
                    "job_namespace": e.job_namespace,
                    "job_name": e.job_name,
                    "parent_run_id": None,
                    "parent_job_namespace": None,
                    "parent_job_name": None,
                    "state": e.event_type,
                    "started_at": None,
                    "first_event_at": e.event_time,
                    "last_event_at": e.event_time,
                    "ended_at": None,
                }
                for e in first.values()
            ],
        )

    def _upsert_datasets(self, conn: Connection, events: list[_Event]) -> None:
        """One row per (run, direction, dataset); a later event's version wins over none.

        Deduplicated here first: PostgreSQL refuses one statement touching a row twice."""
        rows: dict[tuple[str, str, str, str], str | None] = {}
        for event in events:  # oldest first, so the newest version is the one kept
            for direction, datasets in (("input", event.inputs), ("output", event.outputs)):
                for d in datasets:
                    key = (event.run_id, direction, d.namespace, d.name)
                    if d.version is not None or key not in rows:
                        rows[key] = d.version
        if not rows:
            return
        statement = self._insert(LINEAGE_RUN_DATASETS)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["run_id", "direction", "namespace", "name"],
                set_={
                    "version": func.coalesce(
                        statement.excluded.version, LINEAGE_RUN_DATASETS.c.version
                    )
                },
            ),
            [
                {"run_id": r, "direction": d, "namespace": ns, "name": n, "version": v}
                for (r, d, ns, n), v in rows.items()
            ],
        )

    @staticmethod
    def _summarise(conn: Connection, run_ids: list[str], batch: list[_Event]) -> None:
        """Recompute each run's times and state from all of its stored events."""
        times: dict[str, list[tuple[datetime, str]]] = {run_id: [] for run_id in run_ids}
        for chunk in _chunks(run_ids):
            rows = conn.execute(
                select(
                    LINEAGE_RUN_EVENTS.c.run_id,
                    LINEAGE_RUN_EVENTS.c.event_type,
                    LINEAGE_RUN_EVENTS.c.event_time,
                ).where(LINEAGE_RUN_EVENTS.c.run_id.in_(chunk))
            )
            for row in rows:
                times[row.run_id].append((row.event_time, row.event_type))
        parents: dict[str, tuple[str, str | None, str | None]] = {}
        for event in batch:
            if event.parent is not None:
                parents.setdefault(event.run_id, event.parent)
        statement = (
            update(LINEAGE_RUNS)
            .where(LINEAGE_RUNS.c.run_id == bindparam("b_run_id"))
            .values(
                state=bindparam("b_state"),
                started_at=bindparam("b_started_at"),
                first_event_at=bindparam("b_first"),
                last_event_at=bindparam("b_last"),
                ended_at=bindparam("b_ended_at"),
                parent_run_id=func.coalesce(LINEAGE_RUNS.c.parent_run_id, bindparam("b_parent")),
                parent_job_namespace=func.coalesce(
                    LINEAGE_RUNS.c.parent_job_namespace, bindparam("b_parent_ns")
                ),
                parent_job_name=func.coalesce(
                    LINEAGE_RUNS.c.parent_job_name, bindparam("b_parent_name")
                ),
            )
        )
        params = []
        for run_id in run_ids:
            summary = summarise_events(times[run_id])
            parent = parents.get(run_id, (None, None, None))
            params.append(
                {
                    "b_run_id": run_id,
                    "b_state": summary[0],
                    "b_started_at": summary[1],
                    "b_first": summary[2],
                    "b_last": summary[3],
                    "b_ended_at": summary[4],
                    "b_parent": parent[0],
                    "b_parent_ns": parent[1],
                    "b_parent_name": parent[2],
                }
            )
        conn.execute(statement, params)


_RUN_COLUMNS = (
    LINEAGE_RUNS.c.run_id,
    LINEAGE_RUNS.c.job_namespace,
    LINEAGE_RUNS.c.job_name,
    LINEAGE_RUNS.c.state,
    LINEAGE_RUNS.c.started_at,
    LINEAGE_RUNS.c.first_event_at,
    LINEAGE_RUNS.c.last_event_at,
    LINEAGE_RUNS.c.ended_at,
    LINEAGE_RUNS.c.parent_run_id,
)


def _raw_run_columns(backend: str) -> tuple[Any, ...]:
    """`_RUN_COLUMNS` with the times as the driver gives them, for `_time_parser` to convert
    without the per-value type machinery (at 100k runs that conversion was most of the read).
    SQLite keeps naive UTC text, always with microseconds (see `UTCDateTime`): the query adds
    the zone, so each value is one `fromisoformat` away from what `UTCDateTime` returns."""
    if backend != "sqlite":
        return tuple(column.label(column.name) for column in _RUN_COLUMNS)
    return tuple(
        (type_coerce(column, String) + "+00:00").label(column.name)
        if isinstance(column.type, UTCDateTime)
        else column
        for column in _RUN_COLUMNS
    )


def _time_parser(backend: str) -> Callable[[Any], datetime]:
    """How a time column of `_raw_run_columns` becomes the aware UTC datetime `UTCDateTime`
    would give."""
    return datetime.fromisoformat if backend == "sqlite" else as_utc


def _runs_active_since(conn: Connection, start: datetime, backend: str) -> list[RunRecord]:
    """Every run with an event at or after `start`, with what it read and wrote (in the
    order the events named them, as `run_records` gives them)."""
    runs, datasets = LINEAGE_RUNS, LINEAGE_RUN_DATASETS
    rows = conn.execute(
        select(*_raw_run_columns(backend)).where(runs.c.last_event_at >= start)
    ).all()
    named = conn.execute(
        select(
            datasets.c.run_id,
            datasets.c.direction,
            datasets.c.namespace,
            datasets.c.name,
            datasets.c.version,
        )
        .join(runs, runs.c.run_id == datasets.c.run_id)
        .where(runs.c.last_event_at >= start)
        .order_by(datasets.c.id)
    ).all()
    shared: dict[tuple[str, str, str | None], RunDataset] = {}
    reads: dict[str, list[RunDataset]] = {}
    writes: dict[str, list[RunDataset]] = {}
    for run_id, direction, namespace, name, version in named:
        key = (namespace, name, version)
        found = shared.get(key)  # one object per dataset, however many runs name it
        if found is None:
            found = shared[key] = RunDataset(namespace, name, version)
        target = reads if direction == "input" else writes
        target.setdefault(run_id, []).append(found)
    parse = _time_parser(backend)
    return [_raw_record(row, reads, writes, parse) for row in rows]


def _last_writers_before(
    conn: Connection, start: datetime, pairs: list[tuple[str, str]], backend: str
) -> list[RunRecord]:
    """For each dataset in `pairs`, the ended run, all of whose events came before `start`,
    that wrote it last, as a record with only such outputs and no inputs (see
    `contamination_runs`)."""
    runs, datasets = LINEAGE_RUNS, LINEAGE_RUN_DATASETS
    read_at = func.coalesce(runs.c.started_at, runs.c.first_event_at)
    writes: dict[str, list[RunDataset]] = {}
    for first in range(0, len(pairs), _CHUNK // 2):  # two parameters a pair
        ranked = (
            select(
                datasets.c.run_id,
                datasets.c.namespace,
                datasets.c.name,
                datasets.c.version,
                func.row_number()
                .over(
                    partition_by=(datasets.c.namespace, datasets.c.name),
                    order_by=(
                        runs.c.ended_at.desc(),
                        read_at.desc(),
                        runs.c.run_id.desc(),
                    ),
                )
                .label("rank"),
            )
            .join(runs, runs.c.run_id == datasets.c.run_id)
            .where(
                datasets.c.direction == "output",
                tuple_(datasets.c.namespace, datasets.c.name).in_(
                    pairs[first : first + _CHUNK // 2]
                ),
                runs.c.last_event_at < start,
                runs.c.ended_at.is_not(None),
            )
            .subquery()
        )
        for run_id, namespace, name, version in conn.execute(
            select(ranked.c.run_id, ranked.c.namespace, ranked.c.name, ranked.c.version).where(
                ranked.c.rank == 1
            )
        ):
            writes.setdefault(run_id, []).append(RunDataset(namespace, name, version))
    for outputs in writes.values():
        outputs.sort(key=lambda d: (d.namespace, d.name))
    rows = []
    for chunk in _chunks(sorted(writes)):
        rows.extend(
            conn.execute(select(*_raw_run_columns(backend)).where(runs.c.run_id.in_(chunk)))
        )
    parse = _time_parser(backend)
    return [_raw_record(row, {}, writes, parse) for row in rows]


def _raw_record(
    row: Sequence[Any],
    reads: Mapping[str, list[RunDataset]],
    writes: Mapping[str, list[RunDataset]],
    parse: Callable[[Any], datetime],
) -> RunRecord:
    """A record from a row of `_raw_run_columns` and the run's datasets."""
    run_id, job_namespace, job_name, state, started, first, last, ended, parent = row
    return RunRecord(
        run_id,
        job_namespace,
        job_name,
        state,
        None if started is None else parse(started),
        parse(first),
        parse(last),
        None if ended is None else parse(ended),
        parent,
        tuple(reads.get(run_id, ())),
        tuple(writes.get(run_id, ())),
    )


@contextmanager
def _paused_gc() -> Iterator[None]:
    """The cyclic collector off while a hundred thousand records are made: none can form a
    cycle, and its passes over them (and over whatever else the process holds) cost twice the
    reading itself. Always switched back on when it was on (graph.gcpause does the same for
    graph queries; this package imports nothing of ours)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_order(record: RunRecord) -> tuple[datetime, str]:
    return (record.started_at or record.first_event_at, record.run_id)


_TYPE_ORDER = {"START": 0, "OTHER": 1, "RUNNING": 2, "COMPLETE": 3, "ABORT": 3, "FAIL": 3}


def summarise_events(
    events: Iterable[tuple[datetime, str]],
) -> tuple[str, datetime | None, datetime, datetime, datetime | None]:
    """(state, started_at, first_event_at, last_event_at, ended_at) of one run's events.

    The state is the latest terminal event's type once the run has ended (a late RUNNING or
    OTHER does not reopen it), else the latest event's type; at one instant a later stage wins.
    """
    ordered = sorted(events, key=lambda item: (item[0], _TYPE_ORDER.get(item[1], 1)))
    if not ordered:
        raise ValueError("a run has at least one event")
    starts = [at for at, kind in ordered if kind == "START"]
    ends = [(at, kind) for at, kind in ordered if kind in TERMINAL_TYPES]
    state = ends[-1][1] if ends else ordered[-1][1]
    return (
        state,
        starts[0] if starts else None,
        ordered[0][0],
        ordered[-1][0],
        ends[-1][0] if ends else None,
    )


class _Malformed(Exception):
    pass


def _parse(event: Any) -> _Event | None:
    if not isinstance(event, Mapping):
        raise _Malformed(f"expected a JSON object, got {type(event).__name__}")
    if "run" not in event:
        if "dataset" in event or "job" in event:
            return None  # a DatasetEvent or JobEvent: not run history
        raise _Malformed("not a RunEvent: it has no `run`")
    run = event["run"]
    if not isinstance(run, Mapping):
        raise _Malformed("`run` must be an object")
    run_id = _text(run.get("runId"), "run.runId")
    event_type = event.get("eventType")
    if not isinstance(event_type, str) or event_type.upper() not in RUN_EVENT_TYPES:
        raise _Malformed(
            f"run {run_id}: eventType {event_type!r} is not one of {', '.join(RUN_EVENT_TYPES)}"
        )
    event_time = _time(event.get("eventTime"), run_id)
    job = event.get("job")
    if not isinstance(job, Mapping):
        raise _Malformed(f"run {run_id}: `job` must be an object with a namespace and a name")
    return _Event(
        run_id=run_id,
        event_type=event_type.upper(),
        event_time=event_time,
        job_namespace=_text(job.get("namespace"), "job.namespace", run_id),
        job_name=_text(job.get("name"), "job.name", run_id),
        parent=_parent(run.get("facets"), run_id),
        inputs=_datasets(event.get("inputs"), "inputs", run_id),
        outputs=_datasets(event.get("outputs"), "outputs", run_id),
    )


def _text(value: Any, field: str, run_id: str | None = None, limit: int | None = None) -> str:
    where = f"run {run_id}: " if run_id else ""
    if not isinstance(value, str) or not value.strip():
        raise _Malformed(f"{where}{field} must be a non-empty text, got {value!r}")
    if _PLACEHOLDER.fullmatch(value.strip()):
        raise _Malformed(f"{where}{field} is a template placeholder ({value}), not a value")
    if field.endswith("runId") and len(value) > MAX_ID:
        raise _Malformed(f"{where}{field} is longer than {MAX_ID} characters")
    return value


def _time(value: Any, run_id: str) -> datetime:
    if not isinstance(value, str):
        raise _Malformed(f"run {run_id}: eventTime must be an ISO 8601 text, got {value!r}")
    if _PLACEHOLDER.fullmatch(value.strip()):
        raise _Malformed(f"run {run_id}: eventTime is a template placeholder ({value})")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Malformed(f"run {run_id}: eventTime {value!r} is not ISO 8601") from None
    return as_utc(parsed)


def _parent(facets: Any, run_id: str) -> tuple[str, str | None, str | None] | None:
    if not isinstance(facets, Mapping) or "parent" not in facets:
        return None
    parent = facets["parent"]
    run = parent.get("run") if isinstance(parent, Mapping) else None
    if not isinstance(run, Mapping):
        raise _Malformed(f"run {run_id}: the parent facet has no `run` object")
    parent_id = _text(run.get("runId"), "the parent facet's run.runId", run_id)
    job = parent.get("job")
    if isinstance(job, Mapping):
        namespace, name = job.get("namespace"), job.get("name")
        return (
            parent_id,
            namespace if isinstance(namespace, str) else None,
            name if isinstance(name, str) else None,
        )
    return (parent_id, None, None)


def _datasets(value: Any, field: str, run_id: str) -> tuple[RunDataset, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Malformed(f"run {run_id}: {field} must be a list")
    found = []
    for number, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise _Malformed(f"run {run_id}: {field}[{number}] must be an object")
        namespace = _text(item.get("namespace"), f"{field}[{number}].namespace", run_id)
        name = _text(item.get("name"), f"{field}[{number}].name", run_id)
        found.append(RunDataset(namespace, name, _version(item.get("facets"))))
    return tuple(found)


def _version(facets: Any) -> str | None:
    if not isinstance(facets, Mapping):
        return None
    facet = facets.get("version")
    if not isinstance(facet, Mapping):
        return None
    version = facet.get("datasetVersion")
    if isinstance(version, bool) or not isinstance(version, (str, int)):
        return None
    return str(version)


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
