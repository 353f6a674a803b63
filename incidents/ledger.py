"""The step ledger: exactly-once bookkeeping for runbook step executions.

Each execution has a key (a hash the engine derives from incident, runbook, version, step and the
rendered action) that is the table's primary key. The engine writes the intent (`started`) before
the effect and `done` after it; a key found `started` after a crash is in doubt. Uniqueness is
the database's job: two processes writing the same intent get one row, and both see it.

Fencing: each row carries the session token of the process that set out to do the step. `done`,
`failed` and `restart` given a session are conditional on it, and an interrupted step is taken
over with `ledger_claim` (a conditional update on the attempt counter), which writes the new
session's token: from then on the old session's writes fail with `SessionFenced`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from incidents.base import StoreBase
from incidents.canonical import normalise_data
from incidents.errors import InvalidValue, LedgerConflict, RunNotFound, SessionFenced
from incidents.lifecycle import normalise_incident_id, normalise_run_id, require_text
from incidents.models import LEDGER, RUNS

LEDGER_STATUSES: tuple[str, ...] = ("started", "done", "failed")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    key: str
    run_id: str
    incident_id: str | None
    step_id: str
    status: str
    rendered: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    effect_count: int
    started_at: datetime
    finished_at: datetime | None
    session: str | None = None
    attempts: int = 1

    @property
    def in_doubt(self) -> bool:
        """Started but never finished: the effect may or may not have happened."""
        return self.status == "started"

    @classmethod
    def from_row(cls, row: Row[Any]) -> LedgerEntry:
        return cls(
            key=row.key,
            run_id=row.run_id,
            incident_id=row.incident_id,
            step_id=row.step_id,
            status=row.status,
            rendered=dict(row.rendered),
            output=None if row.output is None else dict(row.output),
            error=row.error,
            effect_count=row.effect_count,
            started_at=row.started_at,
            finished_at=row.finished_at,
            session=row.session,
            attempts=row.attempts,
        )


class LedgerMixin(StoreBase):
    def ledger_get(self, key: str) -> LedgerEntry | None:
        with self._db.read() as conn:
            return _entry(conn, key)

    def ledger_intent(
        self,
        key: str,
        run_id: str,
        incident_id: str | None,
        step_id: str,
        rendered: dict[str, Any],
        session: str | None = None,
    ) -> LedgerEntry:
        """Record that the step is about to run (`started`), by `session`. If the key exists
        already — done, failed or in doubt — the existing entry is returned unchanged and nothing
        is written: the caller decides from its status and its session."""
        key = _check_key(key)
        run_id = normalise_run_id(run_id)
        if incident_id is not None:
            incident_id = normalise_incident_id(incident_id)
        step_id = require_text(step_id, "the step id")
        clean = normalise_data(rendered, "the rendered step")
        with self._db.write() as conn:
            if conn.execute(select(RUNS.c.id).where(RUNS.c.id == run_id)).first() is None:
                raise RunNotFound(run_id)
            conn.execute(
                self._insert(LEDGER)
                .values(
                    key=key,
                    run_id=run_id,
                    incident_id=incident_id,
                    step_id=step_id,
                    status="started",
                    rendered=clean,
                    output=None,
                    error=None,
                    effect_count=0,
                    started_at=self._now(),
                    finished_at=None,
                    session=session,
                    attempts=1,
                )
                .on_conflict_do_nothing(index_elements=[LEDGER.c.key])
            )
            entry = _entry(conn, key)
            assert entry is not None  # inserted, or there already
            return entry

    def ledger_done(
        self,
        key: str,
        output: dict[str, Any],
        effect_count: int = 1,
        session: str | None = None,
    ) -> LedgerEntry:
        """Mark the step done with its output. `effect_count` is how many times its effect was
        applied by this execution (0 when a check found the desired state already there).
        A step already done is refused: recording it twice would hide a repeated effect. Given
        `session`, only that session's entry moves (else `SessionFenced`)."""
        return self._finish(
            key,
            "done",
            output=normalise_data(output, "the step output"),
            effect_count=int(effect_count),
            session=session,
        )

    def ledger_failed(self, key: str, error: str, session: str | None = None) -> LedgerEntry:
        return self._finish(key, "failed", error=require_text(error, "the error"), session=session)

    def ledger_restart(self, key: str, run_id: str, session: str | None = None) -> LedgerEntry:
        """Put a `failed` entry back to `started` for another attempt, by `run_id` (a resumed
        or a new run) in `session`. Only a failed entry can be restarted: a done one must stay
        done, and an in-doubt one must first be claimed (`ledger_claim`)."""
        key = _check_key(key)
        run_id = normalise_run_id(run_id)
        with self._db.write() as conn:
            changed = conn.execute(
                update(LEDGER)
                .where(LEDGER.c.key == key, LEDGER.c.status == "failed")
                .values(
                    status="started",
                    run_id=run_id,
                    error=None,
                    finished_at=None,
                    started_at=self._now(),
                    session=session,
                    attempts=LEDGER.c.attempts + 1,
                )
                .returning(LEDGER.c.key)
            ).first()
            entry = _entry(conn, key)
            if changed is None:
                raise _cannot(key, entry, "started again")
            assert entry is not None
            return entry

    def ledger_claim(self, key: str, run_id: str, session: str, attempts: int) -> LedgerEntry:
        """Take over a step found `started` by another session (interrupted, or a process that
        was frozen): one conditional update, matched on the attempt counter the caller saw,
        writes this session's token and counts one more attempt. From then on the old
        session's `done`/`failed` fail with `SessionFenced`. Raises `SessionFenced` when
        someone else claimed or finished it first (the row count decides)."""
        key = _check_key(key)
        run_id = normalise_run_id(run_id)
        with self._db.write() as conn:
            changed = conn.execute(
                update(LEDGER)
                .where(
                    LEDGER.c.key == key,
                    LEDGER.c.status == "started",
                    LEDGER.c.attempts == int(attempts),
                )
                .values(
                    run_id=run_id,
                    session=session,
                    attempts=LEDGER.c.attempts + 1,
                    started_at=self._now(),
                )
                .returning(LEDGER.c.key)
            ).first()
            entry = _entry(conn, key)
        if changed is None:
            if entry is None:
                raise _cannot(key, entry, "claimed")
            raise SessionFenced(
                f"step {entry.step_id} (ledger key {key[:16]}…) was claimed or finished by "
                f"another session of {entry.run_id} first (it is {entry.status}, attempt "
                f"{entry.attempts})"
            )
        assert entry is not None
        return entry

    def ledger_for_run(self, run_id: str) -> list[LedgerEntry]:
        """The run's entries in the order they were started."""
        run_id = normalise_run_id(run_id)
        with self._db.read() as conn:
            rows = conn.execute(
                select(LEDGER).where(LEDGER.c.run_id == run_id).order_by(LEDGER.c.started_at)
            )
            return [LedgerEntry.from_row(row) for row in rows]

    def _finish(
        self,
        key: str,
        status: str,
        *,
        output: dict[str, Any] | None = None,
        error: str | None = None,
        effect_count: int = 0,
        session: str | None = None,
    ) -> LedgerEntry:
        key = _check_key(key)
        if effect_count < 0:
            raise InvalidValue(f"effect_count must not be negative (got {effect_count})")
        with self._db.write() as conn:
            # Conditional UPDATE: only an unfinished (or failed, when marking done) entry moves,
            # and only the session's own when one is given; the rowcount, not a read beforehand,
            # says whether it did.
            allowed = ["started", "failed"] if status == "done" else ["started"]
            where = [LEDGER.c.key == key, LEDGER.c.status.in_(allowed)]
            if session is not None:
                where.append(LEDGER.c.session == session)
            changed = conn.execute(
                update(LEDGER)
                .where(*where)
                .values(
                    status=status,
                    output=output,
                    error=error,
                    effect_count=effect_count,
                    finished_at=self._now(),
                )
                .returning(LEDGER.c.key)
            ).first()
            entry = _entry(conn, key)
            if changed is None:
                if session is not None and entry is not None and entry.session != session:
                    raise SessionFenced(
                        f"step {entry.step_id} (ledger key {key[:16]}…) now belongs to another "
                        f"session of {entry.run_id} (attempt {entry.attempts}, {entry.status}); "
                        f"this session may not mark it {status}"
                    )
                raise _cannot(key, entry, f"marked {status}")
            assert entry is not None
            return entry


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > 255:
        raise InvalidValue("a ledger key must be a non-empty string of at most 255 characters")
    return key


def _entry(conn: Connection, key: str) -> LedgerEntry | None:
    row = conn.execute(select(LEDGER).where(LEDGER.c.key == key)).one_or_none()
    return None if row is None else LedgerEntry.from_row(row)


def _cannot(key: str, entry: LedgerEntry | None, what: str) -> LedgerConflict:
    if entry is None:
        return LedgerConflict(f"ledger key {key[:16]}… has no intent recorded; cannot be {what}")
    return LedgerConflict(
        f"step {entry.step_id} (run {entry.run_id}, ledger key {key[:16]}…) is {entry.status}; "
        f"it cannot be {what}"
    )
