"""The tables of the store, as SQLAlchemy 2 typed models. One module for all of them because one
Alembic history migrates them together; the behaviour lives in the modules named for each concern
(`store`, `runs`, `ledger`, `leases`).

Migrations are written by hand in `incidents/migrations/versions/` and must produce exactly
these tables; `tests/incidents/test_migrations.py` checks that they agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from incidents.canonical import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """Always tz-aware UTC in Python; `timestamptz` on PostgreSQL, naive UTC text on SQLite.

    SQLite has no time zones, so everything is converted to UTC before it is written and marked
    UTC when read: both backends then return the same value to the microsecond, which the hash
    chain depends on.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Fixed constraint names, so migrations can name what they create and later drop it."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class CounterRow(Base):
    """Named counters for human ids (`INC-7`, `RUN-3`); bumped with one UPDATE … RETURNING so two
    writers can never be handed the same number."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    asset: Mapped[str] = mapped_column(Text, index=True)
    commander: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # The head of the timeline, kept on the row that appends lock anyway, so an append never
    # re-reads the chain and `verify` can tell a truncated timeline from an intact one.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))


class EventRow(Base):
    """One timeline entry. Never updated or deleted: database triggers refuse both."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("incident_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(32), ForeignKey("incidents.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    # The canonical JSON text itself, never a JSON column: the hash covers these exact bytes.
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Who was at the keyboard (SECURITY.md): set on every new event and covered by its hash;
    # NULL on events written before, whose hash covers exactly what it always did.
    os_user: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(Text)
    impersonated: Mapped[bool | None] = mapped_column(Boolean)


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    incident_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("incidents.id"), index=True
    )
    runbook_id: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]]
    operator: Mapped[str] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # `runbook` (a runbook file) or `page` (the engine's one-step page); see `runbooks.paging`.
    kind: Mapped[str] = mapped_column(String(16), server_default="runbook")
    # The session token of the process driving the run now; a takeover replaces it.
    session: Mapped[str | None] = mapped_column(String(36))


class LedgerRow(Base):
    """The idempotency ledger: one row per step execution key, the key unique by construction."""

    __tablename__ = "step_ledger"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("runs.id"), index=True)
    incident_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("incidents.id"))
    step_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    rendered: Mapped[dict[str, Any]]
    output: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    effect_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # The fencing token of the session that wrote the intent (or claimed it since); every later
    # write of this row is conditional on it. NULL for rows written before tokens existed.
    session: Mapped[str | None] = mapped_column(String(36))
    # How many times a session set out to do this step (a claimed in-doubt step is one more).
    attempts: Mapped[int] = mapped_column(Integer, server_default="1", default=1)


class LeaseRow(Base):
    """At most one live holder per asset: the primary key is the asset itself."""

    __tablename__ = "leases"

    asset: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[str | None] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(Text)
    acquired_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # The fencing token of the session holding it: heartbeat and release match on it, and a
    # takeover (force or expiry) writes a new one.
    session: Mapped[str] = mapped_column(String(36), server_default="")


class AlertReceiptRow(Base):
    """One alert state an intake recorded. The unique key (fingerprint, state, start) is how
    repeats are recognised, whichever `oncall serve` process receives them."""

    __tablename__ = "alert_receipts"
    __table_args__ = (UniqueConstraint("fingerprint", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime]
    alertname: Mapped[str] = mapped_column(Text)
    asset: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("incidents.id"))
    event_seq: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class LineageRunRow(Base):
    """One OpenLineage run as its events so far describe it: kept up to date from
    `lineage_run_events` whenever an event of the run is recorded (see `incidents.run_history`)."""

    __tablename__ = "lineage_runs"

    run_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    job_namespace: Mapped[str] = mapped_column(Text)
    job_name: Mapped[str] = mapped_column(Text)
    parent_run_id: Mapped[str | None] = mapped_column(String(255))
    parent_job_namespace: Mapped[str | None] = mapped_column(Text)
    parent_job_name: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime | None]
    first_event_at: Mapped[datetime]
    last_event_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]


class LineageRunEventRow(Base):
    """One RunEvent as received; the unique key is what makes recording idempotent."""

    __tablename__ = "lineage_run_events"
    __table_args__ = (UniqueConstraint("run_id", "event_type", "event_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(255), ForeignKey("lineage_runs.run_id"))
    event_type: Mapped[str] = mapped_column(String(16))
    event_time: Mapped[datetime]
    source: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime]


class LineageRunDatasetRow(Base):
    """A dataset a run read (`input`) or wrote (`output`), with its `version` facet if given."""

    __tablename__ = "lineage_run_datasets"
    __table_args__ = (
        UniqueConstraint("run_id", "direction", "namespace", "name"),
        # "which runs read or wrote this dataset": the question a recursive walk asks per step
        Index("ix_lineage_run_datasets_namespace", "namespace", "name", "direction"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(255), ForeignKey("lineage_runs.run_id"))
    direction: Mapped[str] = mapped_column(String(8))
    namespace: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(Text)


class LineageSourceRow(Base):
    """A lineage file already recorded, by content hash: an unchanged file is not parsed again."""

    __tablename__ = "lineage_sources"

    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime]


# Core handles on the same tables: the hot paths (appends, leases) are single statements whose
# rowcount or RETURNING decides, which reads more plainly in Core than through a Session.
COUNTERS = cast(Table, CounterRow.__table__)
INCIDENTS = cast(Table, IncidentRow.__table__)
EVENTS = cast(Table, EventRow.__table__)
RUNS = cast(Table, RunRow.__table__)
LEDGER = cast(Table, LedgerRow.__table__)
LEASES = cast(Table, LeaseRow.__table__)
LINEAGE_RUNS = cast(Table, LineageRunRow.__table__)
LINEAGE_RUN_EVENTS = cast(Table, LineageRunEventRow.__table__)
LINEAGE_RUN_DATASETS = cast(Table, LineageRunDatasetRow.__table__)
LINEAGE_SOURCES = cast(Table, LineageSourceRow.__table__)
ALERT_RECEIPTS = cast(Table, AlertReceiptRow.__table__)
