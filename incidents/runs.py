"""Runbook runs (`RUN-<n>`): which runbook, at which vetted version, with which parameters, by
whom, and whether it is running, done, failed or interrupted. The runbook engine writes the
matching timeline events; the store only keeps the record.

A run has a `kind` (`runbook`, or `page` for the engine's built-in one-step page runs) and the
session token of the process driving it: `claim_run` writes a new one on a takeover, and a
status change given a session is conditional on it (`SessionFenced` otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from incidents.base import StoreBase
from incidents.canonical import normalise_data
from incidents.errors import IncidentNotFound, InvalidValue, RunNotFound, SessionFenced
from incidents.lifecycle import RUN_PREFIX, normalise_incident_id, normalise_run_id, require_text
from incidents.models import INCIDENTS, RUNS

RUN_STATUSES: tuple[str, ...] = ("running", "done", "failed", "interrupted", "abandoned")
FINISHED_RUN_STATUSES: frozenset[str] = frozenset({"done", "failed", "interrupted", "abandoned"})
#: Finished for good: never resumed, never changed again.
FINAL_RUN_STATUSES: frozenset[str] = frozenset({"done", "abandoned"})
RUN_KINDS: tuple[str, ...] = ("runbook", "page")


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    incident_id: str | None
    runbook_id: str
    version: int
    sha256: str
    params: dict[str, Any]
    operator: str
    dry_run: bool
    status: str
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    kind: str = "runbook"
    session: str | None = None

    @classmethod
    def from_row(cls, row: Row[Any]) -> Run:
        return cls(
            id=row.id,
            incident_id=row.incident_id,
            runbook_id=row.runbook_id,
            version=row.version,
            sha256=row.sha256,
            params=dict(row.params),
            operator=row.operator,
            dry_run=bool(row.dry_run),
            status=row.status,
            started_at=row.started_at,
            updated_at=row.updated_at,
            finished_at=row.finished_at,
            kind=row.kind,
            session=row.session,
        )


class RunsMixin(StoreBase):
    def create_run(
        self,
        incident_id: str | None,
        runbook_id: str,
        version: int,
        sha256: str,
        params: dict[str, Any],
        operator: str,
        dry_run: bool = False,
        *,
        kind: str = "runbook",
        session: str | None = None,
    ) -> Run:
        """Record a new run, `running` from now, driven by `session`. `incident_id` may be None
        (a dry run outside an incident)."""
        if kind not in RUN_KINDS:
            raise InvalidValue(f"unknown run kind {kind!r}: use one of {', '.join(RUN_KINDS)}")
        if incident_id is not None:
            incident_id = normalise_incident_id(incident_id)
        runbook_id = require_text(runbook_id, "the runbook id")
        operator = require_text(operator, "the operator")
        clean = normalise_data(params, "run parameters")
        now = self._now()
        with self._db.write() as conn:
            if incident_id is not None:
                exists = conn.execute(
                    select(INCIDENTS.c.id).where(INCIDENTS.c.id == incident_id)
                ).first()
                if exists is None:
                    raise IncidentNotFound(incident_id)
            number = self._next_number(conn, "run")
            run_id = f"{RUN_PREFIX}{number}"
            conn.execute(
                insert(RUNS).values(
                    id=run_id,
                    number=number,
                    incident_id=incident_id,
                    runbook_id=runbook_id,
                    version=int(version),
                    sha256=sha256,
                    params=clean,
                    operator=operator,
                    dry_run=bool(dry_run),
                    status="running",
                    started_at=now,
                    updated_at=now,
                    finished_at=None,
                    kind=kind,
                    session=session,
                )
            )
            return Run.from_row(conn.execute(select(RUNS).where(RUNS.c.id == run_id)).one())

    def get_run(self, run_id: str) -> Run:
        run_id = normalise_run_id(run_id)
        with self._db.read() as conn:
            row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).one_or_none()
        if row is None:
            raise RunNotFound(run_id)
        return Run.from_row(row)

    def list_runs(self, incident_id: str | None = None, kind: str | None = None) -> list[Run]:
        """Oldest first; only the incident's when `incident_id` is given, only runs of `kind`
        (`runbook`, `page`) when it is."""
        query = select(RUNS).order_by(RUNS.c.number)
        if incident_id is not None:
            query = query.where(RUNS.c.incident_id == normalise_incident_id(incident_id))
        if kind is not None:
            query = query.where(RUNS.c.kind == kind)
        with self._db.read() as conn:
            return [Run.from_row(row) for row in conn.execute(query)]

    def claim_run(self, run_id: str, session: str) -> Run:
        """Hand the run to `session` (a resume, a takeover): its token replaces the old one, so
        the session that drove it before can no longer change its status."""
        run_id = normalise_run_id(run_id)
        with self._db.write() as conn:
            row = conn.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id)
                .values(session=session, updated_at=self._now())
                .returning(*RUNS.c)
            ).first()
        if row is None:
            raise RunNotFound(run_id)
        return Run.from_row(row)

    def set_run_status(self, run_id: str, status: str, session: str | None = None) -> Run:
        """Move a run to `status`. Setting the status it already has changes nothing; a `done`
        run is finished for good (resuming it would repeat nothing, so it is refused). Given
        `session`, only the session that drives the run may (else `SessionFenced`)."""
        run_id = normalise_run_id(run_id)
        if status not in RUN_STATUSES:
            raise InvalidValue(
                f"unknown run status {status!r}: use one of {', '.join(RUN_STATUSES)}"
            )
        now = self._now()
        with self._db.write() as conn:
            row = conn.execute(
                select(RUNS).where(RUNS.c.id == run_id).with_for_update()
            ).one_or_none()
            if row is None:
                raise RunNotFound(run_id)
            if session is not None and row.session not in (None, session):
                raise SessionFenced(
                    f"{run_id} is driven by another session now; this one may not make it {status}"
                )
            if row.status == status:
                return Run.from_row(row)
            if row.status in FINAL_RUN_STATUSES:
                raise InvalidValue(f"{run_id} is {row.status}; it cannot become {status}")
            conn.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id)
                .values(
                    status=status,
                    updated_at=now,
                    finished_at=now if status in FINISHED_RUN_STATUSES else None,
                )
            )
            return Run.from_row(conn.execute(select(RUNS).where(RUNS.c.id == run_id)).one())
