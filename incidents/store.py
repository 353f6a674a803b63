"""The store: opening a database, incidents and their lifecycle, and the hash-chained timeline.

Appends to one incident are serialised by locking that incident's row (`SELECT … FOR UPDATE` on
PostgreSQL; the `BEGIN IMMEDIATE` write lock on SQLite), and the chain head (last seq and hash)
lives on that row, so an append reads one row, writes one event and updates one row — it never
re-reads the chain, and many processes appending at once still produce one gap-free chain.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, text, update

from incidents.alerts import AlertsMixin
from incidents.appending import Appender, Head, Prepared, prepare
from incidents.base import StoreBase
from incidents.canonical import (
    GENESIS_HASH,
    Origin,
    as_utc,
    this_origin,
)
from incidents.canonical import utc_now as _utc_now
from incidents.chain import ChainReport, check_chain
from incidents.database import (
    DEFAULT_BUSY_TIMEOUT,
    Database,
    cannot_write,
    describe,
    make_engine,
    parse_url,
    read_only_url,
    sqlite_path,
)
from incidents.errors import (
    IncidentNotFound,
    InvalidValue,
    StoreBusy,
    StoreError,
    StoreUnavailable,
)
from incidents.leases import LeasesMixin
from incidents.ledger import LedgerMixin
from incidents.lifecycle import (
    CLOSED_STATUSES,
    INCIDENT_PREFIX,
    STATUS_TIME_FIELD,
    normalise_incident_id,
    normalise_severity,
    require_text,
    stages_reached,
)
from incidents.live import LiveMixin
from incidents.migrate import current_revision, head_revision, upgrade
from incidents.models import EVENTS, INCIDENTS
from incidents.records import Event, Incident, NewEvent
from incidents.run_history import RunHistoryMixin
from incidents.runs import RunsMixin

# The incident row read, built once: constructing a statement per call costs more than a SQLite
# transaction, and a prebuilt one is compiled once and reused from the cache.


_SELECT_INCIDENT = select(INCIDENTS).where(INCIDENTS.c.id == bindparam("incident_id"))
_LOCK_INCIDENT = _SELECT_INCIDENT.with_for_update()  # PostgreSQL; SQLite holds the write lock


class Store(
    AlertsMixin, LiveMixin, RunsMixin, LedgerMixin, LeasesMixin, RunHistoryMixin, StoreBase
):
    """One open database. Cheap to open; close it (or use it as a context manager) when done."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = _utc_now) -> None:
        self._db = db
        self.clock = clock
        # The store's clock, looked up at each append so a test swapping `clock` moves it too.
        self._appender = Appender(db, lambda: self.clock())
        #: Who is at the keyboard, recorded on every event this store appends (SECURITY.md);
        #: the command line marks it `impersonated` when `--as` names someone else.
        self.origin: Origin = this_origin()

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        clock: Callable[[], datetime] = _utc_now,
        read_only: bool | None = None,
    ) -> Store:
        """Open (creating if needed) and migrate the store at `url`.

        A SQLite file's directory is created; if opening fails, a database file this call
        created is removed again, so a failed first run leaves nothing behind.

        A SQLite file this user cannot write (or whose folder it cannot write) is opened
        read-only (`read_only=None` decides so; True forces it): everything can be read, every
        write raises `ReadOnlyStore` before touching the file, and nothing is migrated. A
        PostgreSQL store is read-only the same way when the server says this connection cannot
        write it (a standby, read-only transactions, SELECT-only grants); one that is behind
        the schema there cannot be migrated and says so (`ReadOnlyStore`).
        """
        parsed = parse_url(url)
        path = sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
        if path is not None and (read_only or (read_only is None and cannot_write(path))):
            return cls._open_read_only(path, busy_timeout, clock)
        created: list[Path] = []
        if path is not None:
            created = _prepare_sqlite_path(path, describe(parsed))
        db = Database(make_engine(parsed, busy_timeout), parsed, busy_timeout)
        try:
            upgrade(db)
            db.probe_writable()
        except BaseException as exc:
            db.engine.dispose()
            if isinstance(exc, StoreBusy):  # another process is using the new file: keep it
                created = [p for p in created if p.is_dir()]
            for leftover in created:
                with contextlib.suppress(OSError):
                    if leftover.is_dir():
                        leftover.rmdir()
                    else:
                        leftover.unlink(missing_ok=True)
            raise
        return cls(db, clock)

    @classmethod
    def _open_read_only(
        cls, path: Path, busy_timeout: float, clock: Callable[[], datetime]
    ) -> Store:
        where = str(path)
        if not path.exists():
            raise StoreUnavailable(
                f"read-only: the store {where} does not exist and cannot be created here; "
                "nothing was changed"
            )
        url = read_only_url(path)
        db = Database(make_engine(url, busy_timeout), url, busy_timeout, where=where)
        try:
            with db.read() as conn:
                current = current_revision(conn)
        except BaseException:
            db.engine.dispose()
            raise
        if current != head_revision():
            db.engine.dispose()
            raise StoreUnavailable(
                f"read-only: the store {where} is at schema revision {current!r} and this "
                f"oncall reads {head_revision()!r}; it cannot be upgraded without writing. "
                "Open it once where it can be written; nothing was changed"
            )
        return cls(db, clock)

    @property
    def read_only(self) -> bool:
        """True when this store was opened read-only: reads work, writes raise ReadOnlyStore."""
        return self._db.read_only

    @property
    def engine(self) -> Any:
        return self._db.engine

    @property
    def where(self) -> str:
        """The database, as messages name it (a SQLite path, or the URL without password)."""
        return self._db.where

    def close(self) -> None:
        self._appender.close()
        self._db.engine.dispose()

    def ping(self) -> None:
        """One trivial read: StoreUnavailable when the database cannot be reached (health checks)."""
        with self._db.read() as conn:
            conn.execute(text("SELECT 1"))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- incidents ---------------------------------------------------------------------------

    def open_incident(
        self,
        title: str,
        asset: str,
        severity: str = "SEV2",
        *,
        actor: str,
        commander: str | None = None,
        at: datetime | None = None,
    ) -> Incident:
        """A new incident, `INC-<n>`, with its first timeline event (`status`, "opened").

        `asset` is a canonical catalog ref; resolving what the operator typed is the caller's
        job (the store knows nothing of the catalog). `at` backdates the opening (imports, the
        demo); it defaults to now.
        """
        title = require_text(title, "the incident title")
        asset = require_text(asset, "the asset")
        actor = require_text(actor, "the actor")
        severity = normalise_severity(severity)
        commander = (commander.strip() or None) if commander else None
        when = as_utc(at) if at is not None else self._now()
        with self._db.write() as conn:
            incident_id = self._insert_incident(
                conn, title, asset, severity, actor=actor, commander=commander, at=when
            )
            return Incident.from_row(self._incident_row(conn, incident_id))

    def get_incident(self, incident_id: str) -> Incident:
        incident_id = normalise_incident_id(incident_id)
        with self._db.read() as conn:
            return Incident.from_row(self._incident_row(conn, incident_id))

    def list_incidents(self, include_closed: bool = False) -> list[Incident]:
        """Newest first; resolved incidents only with `include_closed`."""
        query = select(INCIDENTS).order_by(INCIDENTS.c.number.desc())
        if not include_closed:
            query = query.where(INCIDENTS.c.status.not_in(sorted(CLOSED_STATUSES)))
        with self._db.read() as conn:
            return [Incident.from_row(row) for row in conn.execute(query)]

    def set_status(
        self, incident_id: str, status: str, *, actor: str, at: datetime | None = None
    ) -> Incident:
        """Move the incident forward to `status`, stamping the time of every stage reached, and
        record it as one `status` event. Backwards or same-status moves raise IllegalTransition.

        The first to acknowledge an incident with no commander becomes its commander (decided
        under the incident's row lock, so two people acknowledging at once make one commander).
        """
        incident_id = normalise_incident_id(incident_id)
        actor = require_text(actor, "the actor")
        with self._db.write() as conn:
            row = self._incident_row(conn, incident_id, lock=True)
            reached = stages_reached(incident_id, row.status, status)
            target = reached[-1]
            when = self._event_time(row, at)
            takes_command = "acknowledged" in reached and not row.commander
            values: dict[str, Any] = {STATUS_TIME_FIELD[stage]: when for stage in reached}
            if takes_command:
                values["commander"] = actor
            conn.execute(
                update(INCIDENTS)
                .where(INCIDENTS.c.id == incident_id)
                .values(status=target, **values)
            )
            implied = reached[:-1]
            message = f"{row.status} → {target}"
            if implied:
                message += f" (also marks {', '.join(implied)})"
            data: dict[str, Any] = {"from": row.status, "to": target, "implied": implied}
            if takes_command:
                message += f"; {actor} takes command"
                data["commander"] = actor
            self._append_within(conn, row, "status", message, actor, data, when)
            return Incident.from_row(self._incident_row(conn, incident_id))

    def take_command(self, incident_id: str, *, actor: str, at: datetime | None = None) -> Incident:
        """`actor` becomes the incident's commander (taking over from the one before, who is
        named on the timeline). Taking command of an incident you already command changes
        nothing and records nothing."""
        incident_id = normalise_incident_id(incident_id)
        actor = require_text(actor, "the actor")
        with self._db.write() as conn:
            row = self._incident_row(conn, incident_id, lock=True)
            if row.commander == actor:
                return Incident.from_row(row)
            if row.status in CLOSED_STATUSES:
                raise InvalidValue(f"{incident_id} is {row.status}: nobody commands it any more")
            conn.execute(
                update(INCIDENTS).where(INCIDENTS.c.id == incident_id).values(commander=actor)
            )
            message = f"{actor} takes command"
            if row.commander:
                message += f" from {row.commander}"
            data = {"commander": actor, "previous": row.commander}
            self._append_within(
                conn, row, "decision", message, actor, data, self._event_time(row, at)
            )
            return Incident.from_row(self._incident_row(conn, incident_id))

    # -- the timeline ------------------------------------------------------------------------

    def append_event(
        self,
        incident_id: str,
        kind: str,
        message: str,
        actor: str,
        data: Mapping[str, Any] | None = None,
        *,
        at: datetime | None = None,
    ) -> Event:
        """Add one event to the end of the incident's timeline; returns it with its hash."""
        incident_id = normalise_incident_id(incident_id)
        prepared = prepare(kind, message, actor, data, at, self.origin)
        return self._appender.append(incident_id, [prepared])[0]

    def append_events(self, incident_id: str, events: Sequence[NewEvent]) -> list[Event]:
        """Add several events to the end of the timeline, in order, in one transaction with one
        move of the chain head: all of them or none. For what is written together (an alert
        burst, a step's events), at a fraction of the cost of one append each."""
        incident_id = normalise_incident_id(incident_id)
        prepared = [_prepare(event, self.origin) for event in events]
        return self._appender.append(incident_id, prepared)

    def events(self, incident_id: str, after_seq: int = 0) -> list[Event]:
        """The timeline in order; `after_seq` returns only newer events (for live views)."""
        incident_id = normalise_incident_id(incident_id)
        with self._db.read() as conn:
            self._incident_row(conn, incident_id)
            rows = conn.execute(
                select(EVENTS)
                .where(EVENTS.c.incident_id == incident_id, EVENTS.c.seq > after_seq)
                .order_by(EVENTS.c.seq)
            )
            return [Event.from_row(row) for row in rows]

    def verify(self, incident_id: str, anchor: str | None = None) -> ChainReport:
        """Recompute every hash and link of the incident's timeline; name the first bad event.
        `anchor`: a head hash recorded outside the database, which must be in the chain."""
        incident_id = normalise_incident_id(incident_id)
        with self._db.read() as conn:
            head = self._incident_row(conn, incident_id)
            rows = conn.execute(
                select(EVENTS).where(EVENTS.c.incident_id == incident_id).order_by(EVENTS.c.seq)
            )
            return check_chain(incident_id, rows, head.last_seq, head.head_hash, anchor)

    # -- internals ---------------------------------------------------------------------------

    def _insert_incident(
        self,
        conn: Connection,
        title: str,
        asset: str,
        severity: str,
        *,
        actor: str,
        commander: str | None,
        at: datetime,
    ) -> str:
        """Insert an incident and its opening event in the caller's write transaction (values
        already checked); returns its id. `open_incident` and the alert intake share it."""
        number = self._next_number(conn, "incident")
        incident_id = f"{INCIDENT_PREFIX}{number}"
        conn.execute(
            insert(INCIDENTS).values(
                id=incident_id,
                number=number,
                title=title,
                severity=severity,
                status="open",
                asset=asset,
                commander=commander,
                opened_at=at,
                last_seq=0,
                head_hash=GENESIS_HASH,
            )
        )
        data = {
            "to": "open",
            "title": title,
            "severity": severity,
            "asset": asset,
            "commander": commander,
        }
        opening = prepare("status", f"opened: {title}", actor, data, at, self.origin)
        self._appender.append_within(conn, incident_id, [opening], Head(0, GENESIS_HASH, at))
        return incident_id

    @staticmethod
    def _incident_row(conn: Connection, incident_id: str, lock: bool = False) -> Row[Any]:
        query = _LOCK_INCIDENT if lock else _SELECT_INCIDENT
        row = conn.execute(query, {"incident_id": incident_id}).one_or_none()
        if row is None:
            raise IncidentNotFound(incident_id)
        return row

    def _event_time(self, row: Row[Any], at: datetime | None) -> datetime:
        """Now, or an explicit time that must not precede the incident's opening."""
        if at is None:
            return self._now()
        when = as_utc(at)
        if when < row.opened_at:
            raise InvalidValue(
                f"{row.id}: an event at {when:%Y-%m-%d %H:%M:%S} UTC would precede the "
                f"incident's opening at {row.opened_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        return when

    def _append_within(
        self,
        conn: Connection,
        row: Row[Any],
        kind: str,
        message: str,
        actor: str,
        data: Mapping[str, Any],
        at: datetime,
    ) -> Event:
        """One event in the caller's write transaction, chained from `row` (the incident, read
        under its lock), through the one append path."""
        event = prepare(kind, message, actor, data, at, self.origin)
        head = Head(row.last_seq, row.head_hash, as_utc(row.opened_at))
        return self._appender.append_within(conn, row.id, [event], head)[0]


def _prepare(event: NewEvent, origin: Origin) -> Prepared:
    return prepare(event.kind, event.message, event.actor, event.data, event.at, origin)


def _prepare_sqlite_path(path: Path, where: str) -> list[Path]:
    """Create the database's directory and file; return what this call created (to undo on
    failure). Only the one process that made the file may remove it again, and not after a
    lock wait (`StoreBusy`: another process is using it): removing a database, or its -wal,
    under another process would lose what it wrote."""
    created: list[Path] = []
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    try:
        for directory in reversed(missing):
            directory.mkdir()
            created.append(directory)
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot create the store's directory {exc.filename or path.parent}: "
            f"{exc.strerror or exc}; nothing was written"
        ) from exc
    if path.is_dir():
        raise StoreUnavailable(f"cannot open the store {where}: it is a directory")
    if _create_in_wal_mode(path, where):
        created.extend([path, Path(f"{path}-wal"), Path(f"{path}-shm")])
    created.reverse()  # undo files before the directories holding them
    return created


def _create_in_wal_mode(path: Path, where: str) -> bool:
    """Make a new database file already in WAL mode and link it in place atomically; False when
    the file exists (another process, or an earlier run, made it). Processes that open a new
    store at once then never switch journal modes together: two connections asking SQLite for
    WAL on the same new file can each wait for the other's lock until the busy timeout."""
    if path.exists():
        return False
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    try:
        with contextlib.closing(sqlite3.connect(aside)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
        try:
            os.link(aside, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: SQLite makes the file on connect
            return False
        return True
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise StoreUnavailable(
            f"cannot create the store {where}: {reason}; nothing was written"
        ) from exc
    finally:
        for leftover in (aside, Path(f"{aside}-wal"), Path(f"{aside}-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)


__all__ = ["ChainReport", "Event", "Incident", "NewEvent", "Store", "StoreError"]
