"""The timeline's append path, at the driver: one transaction reads the chain head off the
incident's row, writes the events and moves the head once.

Why not SQLAlchemy here: building, compiling and executing three statements through the engine,
and checking a connection out of the pool, cost several times the SQLite transaction itself
(issue 16's profile). This module speaks to DBAPI connections of its own (one per thread, made
by the engine so they get the same PRAGMAs and settings, then detached from its pool), with SQL
text fixed per backend (sqlite3 caches compiled statements; psycopg prepares a statement after a
few executions). The store's design stays: per-incident serialisation and the head (last seq and
hash) on the incident's row.

- SQLite: `BEGIN IMMEDIATE` (the database's write lock), read the head, insert the events, move
  the head, `COMMIT`.
- PostgreSQL, the locked way: `BEGIN`, `SELECT … FOR UPDATE` on the incident's row, then one
  statement (a data-modifying CTE) that moves the head and inserts every event, `COMMIT`.
- PostgreSQL, the one-round-trip way, when this store already knows the incident's head (it
  wrote or read it last): one autocommit statement that moves the head only if it is still the
  one the hashes were chained from (`WHERE last_seq = … AND head_hash = …`, which takes the row
  lock and re-checks after any writer that held it), and inserts the events only if the head
  moved. If another writer got there first nothing is written, and the append is redone the
  locked way. Either way the chain is written by exactly one writer at a time.

The driver's errors are raised as SQLAlchemy's so `Database.translate_errors` gives the same
messages as the rest of the store.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import StaticPool

from incidents.canonical import Origin, as_utc, chain_hash
from incidents.database import Database
from incidents.errors import IncidentNotFound, InvalidValue
from incidents.records import Event

EVENT_COLUMNS: tuple[str, ...] = (
    "incident_id",
    "seq",
    "at",
    "actor",
    "kind",
    "message",
    "data",
    "prev_hash",
    "hash",
    "os_user",
    "host",
    "impersonated",
)
"""The columns an append writes, in the order `_values` lists them."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """One event checked, normalised and with its data's canonical text, before it has a place
    in the chain (seq, prev_hash and hash come from the head inside the transaction)."""

    kind: str
    message: str
    actor: str
    data: dict[str, Any]
    data_text: str
    at: datetime | None
    origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class Head:
    """The chain head as read off the incident's row."""

    last_seq: int
    head_hash: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class Linked:
    """An event with its place in the chain."""

    event: Prepared
    seq: int
    at: datetime
    prev_hash: str
    hash: str


class Appender:
    """The append path of one store: its SQL per backend, its connections, and the heads it last
    wrote (PostgreSQL's one-round-trip path starts from them)."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock
        self._postgres = db.backend == "postgresql"
        self._connections = _Connections(db)
        self._heads: dict[str, Head] = {}
        names = ", ".join(EVENT_COLUMNS)
        if self._postgres:
            self._head_sql = (
                "SELECT last_seq, head_hash, opened_at FROM incidents WHERE id = %s FOR UPDATE"
            )
            row = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
            self._locked_sql = _SqlBySize(
                "WITH moved AS (UPDATE incidents SET last_seq = %s, head_hash = %s "
                f"WHERE id = %s) INSERT INTO events ({names}) VALUES {{rows}} RETURNING seq, id",
                row,
            )
            self._cas_sql = _SqlBySize(
                "WITH moved AS (UPDATE incidents SET last_seq = %s, head_hash = %s "
                "WHERE id = %s AND last_seq = %s AND head_hash = %s RETURNING id) "
                f"INSERT INTO events ({names}) SELECT * FROM (VALUES {{rows}}) AS v ({names}) "
                "WHERE EXISTS (SELECT 1 FROM moved) RETURNING seq, id",
                row,
            )
        else:
            self._head_sql = "SELECT last_seq, head_hash, opened_at FROM incidents WHERE id = ?"
            self._insert_sql = (
                f"INSERT INTO events ({names}) VALUES ({', '.join(['?'] * len(EVENT_COLUMNS))})"
            )
            self._move_sql = "UPDATE incidents SET last_seq = ?, head_hash = ? WHERE id = ?"

    def close(self) -> None:
        self._connections.close()

    # -- appending ---------------------------------------------------------------------------

    def append(self, incident_id: str, events: Sequence[Prepared]) -> list[Event]:
        """Append `events` in order, in one transaction, with one move of the head."""
        self._db.refuse_if_read_only()  # one attribute test: the hot path stays as it was
        if self._postgres:
            known = self._heads.get(incident_id)
            if known is not None and events:
                written = self._append_if_head(incident_id, known, events)
                if written is not None:
                    return written
            return self._append_locked_postgres(incident_id, events)
        return self._append_sqlite(incident_id, events)

    def _append_sqlite(self, incident_id: str, events: Sequence[Prepared]) -> list[Event]:
        # No context managers here: this is the hot path, and each one cost as much as a
        # statement (errors go through the same translation as `_connection`).
        conn = self._connections.get()
        try:
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                head = self._read_head(cursor.execute(self._head_sql, (incident_id,)), incident_id)
                linked = self._link(incident_id, head, events)
                ids = []
                for item in linked:
                    cursor.execute(self._insert_sql, self._values(incident_id, item))
                    ids.append(int(cursor.lastrowid))
                if linked:
                    cursor.execute(self._move_sql, (linked[-1].seq, linked[-1].hash, incident_id))
                cursor.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(Exception):
                        conn.execute("ROLLBACK")
                raise
        except Exception as exc:
            error = self._driver_error(exc, conn)
            if error is exc:
                raise
            with self._db.translate_errors():
                raise error from exc
        finally:
            self._connections.put(conn)
        return self._events(incident_id, linked, ids)

    def _append_locked_postgres(self, incident_id: str, events: Sequence[Prepared]) -> list[Event]:
        with self._connection() as conn:
            cursor = conn.cursor()
            try:
                cursor.execute("BEGIN")
                cursor.execute(self._head_sql, (incident_id,))
                head = self._read_head(cursor, incident_id)
                linked = self._link(incident_id, head, events)
                ids: list[int] = []
                if linked:
                    cursor.execute(
                        self._locked_sql.sql(len(linked)), self._params(incident_id, linked)
                    )
                    ids = self._ids(cursor, linked)
                cursor.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
        if linked:
            self._remember(incident_id, head, linked)
        return self._events(incident_id, linked, ids)

    def _append_if_head(
        self, incident_id: str, head: Head, events: Sequence[Prepared]
    ) -> list[Event] | None:
        """The one-statement append from a head this store knows; None when the head has moved
        since (nothing was written)."""
        linked = self._link(incident_id, head, events)
        params = [*self._params(incident_id, linked)]
        params[3:3] = [head.last_seq, head.head_hash]  # after the head's new seq, hash, id
        with self._connection() as conn:
            cursor = conn.cursor()
            try:
                cursor.execute(self._cas_sql.sql(len(linked)), params)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        if not rows:
            self._heads.pop(incident_id, None)
            return None
        by_seq = dict(rows)
        self._remember(incident_id, head, linked)
        return self._events(incident_id, linked, [int(by_seq[item.seq]) for item in linked])

    # -- the chain ---------------------------------------------------------------------------

    def _read_head(self, cursor: Any, incident_id: str) -> Head:
        found = cursor.fetchone()
        if found is None:
            raise IncidentNotFound(incident_id)
        opened_at = found[2]
        if not isinstance(opened_at, datetime):  # SQLite: SQLAlchemy's naive UTC text
            opened_at = datetime.fromisoformat(opened_at).replace(tzinfo=UTC)
        return Head(int(found[0]), found[1], as_utc(opened_at))

    def _link(self, incident_id: str, head: Head, events: Sequence[Prepared]) -> list[Linked]:
        """Each event with its seq, time and hashes, chained on from `head`."""
        linked = []
        seq, prev_hash = head.last_seq, head.head_hash
        for event in events:
            seq += 1
            at = self._event_time(incident_id, head, event.at)
            digest = chain_hash(
                incident_id=incident_id,
                seq=seq,
                at=at,
                actor=event.actor,
                kind=event.kind,
                message=event.message,
                data_text=event.data_text,
                prev_hash=prev_hash,
                origin=event.origin,
            )
            linked.append(Linked(event, seq, at, prev_hash, digest))
            prev_hash = digest
        return linked

    def _event_time(self, incident_id: str, head: Head, at: datetime | None) -> datetime:
        """Now, or an explicit time that must not precede the incident's opening."""
        if at is None:
            return as_utc(self._clock())
        when = as_utc(at)
        if when < head.opened_at:
            raise InvalidValue(
                f"{incident_id}: an event at {when:%Y-%m-%d %H:%M:%S} UTC would precede the "
                f"incident's opening at {head.opened_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        return when

    def _remember(self, incident_id: str, head: Head, linked: list[Linked]) -> None:
        self._heads[incident_id] = Head(linked[-1].seq, linked[-1].hash, head.opened_at)

    # -- rows --------------------------------------------------------------------------------

    def _values(self, incident_id: str, item: Linked) -> tuple[Any, ...]:
        """One row in `EVENT_COLUMNS` order; SQLite gets the time as SQLAlchemy writes it."""
        event = item.event
        at: Any = item.at if self._postgres else _sqlite_time(item.at)
        return (
            incident_id,
            item.seq,
            at,
            event.actor,
            event.kind,
            event.message,
            event.data_text,
            item.prev_hash,
            item.hash,
            origin.os_user if (origin := event.origin) else None,
            origin.host if origin else None,
            bool(origin.impersonated) if origin else None,
        )

    def _params(self, incident_id: str, linked: list[Linked]) -> list[Any]:
        params: list[Any] = [linked[-1].seq, linked[-1].hash, incident_id]
        for item in linked:
            params += self._values(incident_id, item)
        return params

    @staticmethod
    def _ids(cursor: Any, linked: list[Linked]) -> list[int]:
        by_seq = dict(cursor.fetchall())
        return [int(by_seq[item.seq]) for item in linked]

    @staticmethod
    def _events(incident_id: str, linked: list[Linked], ids: list[int]) -> list[Event]:
        return [
            Event(
                id=event_id,
                incident_id=incident_id,
                seq=item.seq,
                at=item.at,
                actor=item.event.actor,
                kind=item.event.kind,
                message=item.event.message,
                data=item.event.data,
                prev_hash=item.prev_hash,
                hash=item.hash,
                os_user=item.event.origin.os_user if item.event.origin else None,
                host=item.event.origin.host if item.event.origin else None,
                impersonated=item.event.origin.impersonated if item.event.origin else None,
            )
            for item, event_id in zip(linked, ids, strict=True)
        ]

    # -- connections -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        """This thread's DBAPI connection; driver errors raised as SQLAlchemy's (translated by
        the database into one clear message), and a broken connection dropped."""
        conn = self._connections.get()
        try:
            yield conn
        except Exception as exc:
            error = self._driver_error(exc, conn)
            if error is exc:
                raise
            with self._db.translate_errors():
                raise error from exc
        finally:
            self._connections.put(conn)

    def _driver_error(self, exc: Exception, conn: Any) -> Exception:
        """The exception to raise for `exc`: a driver error as SQLAlchemy's (whose messages
        `Database.translate_errors` knows), anything else as it is. A connection the error
        broke is dropped; the thread's next append opens a new one."""
        dialect = self._db.engine.dialect
        dbapi = dialect.loaded_dbapi
        if not isinstance(exc, dbapi.Error):
            return exc
        if dialect.is_disconnect(exc, conn, None):
            self._connections.drop(conn)
        return sa_exc.DBAPIError.instance(None, None, exc, dbapi.Error, dialect=dialect)


class _SqlBySize:
    """A statement with a VALUES list of n rows, built once per n (psycopg prepares each)."""

    def __init__(self, template: str, row: str) -> None:
        self._template = template
        self._row = row
        self._built: dict[int, str] = {}

    def sql(self, rows: int) -> str:
        text = self._built.get(rows)
        if text is None:
            text = self._template.format(rows=", ".join([self._row] * rows))
            self._built[rows] = text
        return text


class _Connections:
    """DBAPI connections owned by the append path, one per thread that appends.

    Each is made by the engine (so the SQLite PRAGMAs and the PostgreSQL connect options
    apply) and detached from its pool: checking a connection out of the pool on every append
    cost as much as the append (and on PostgreSQL a round trip for the pool's pre-ping). A
    PostgreSQL connection idle for `ping_after_idle` seconds is pinged before use instead, and
    replaced if the server dropped it meanwhile, so a restarted server costs no failed append
    (what the pool's pre-ping gives the rest of the store). An in-memory SQLite database has
    one shared connection, which stays the pool's.
    """

    ping_after_idle = 10.0

    def __init__(self, db: Database) -> None:
        self._db = db
        self._local = threading.local()
        self._lock = threading.Lock()
        self._owned: list[Any] = []
        self._shared = isinstance(db.engine.pool, StaticPool)
        self._postgres = db.backend == "postgresql"

    def get(self) -> Any:
        local = self._local
        if self._shared:
            local.fairy = self._db.engine.raw_connection()
            return local.fairy.driver_connection
        conn = getattr(local, "conn", None)
        if conn is not None and self._postgres and self._idle(local) and not self._alive(conn):
            self.drop(conn)
            conn = None
        if conn is None:
            fairy = self._db.engine.raw_connection()
            conn = fairy.driver_connection
            fairy.detach()
            if self._postgres:
                conn.autocommit = True  # transactions are begun and committed by hand
            local.conn = conn
            with self._lock:
                self._owned.append(conn)
        return conn

    def put(self, conn: Any) -> None:
        if self._shared:
            fairy = self._local.__dict__.pop("fairy", None)
            if fairy is not None:
                fairy.close()
        else:
            self._local.used = time.monotonic()

    def _idle(self, local: threading.local) -> bool:
        return time.monotonic() - getattr(local, "used", 0.0) >= self.ping_after_idle

    def _alive(self, conn: Any) -> bool:
        """A round trip that changes nothing (the connection is in autocommit)."""
        try:
            conn.execute("SELECT 1")
        except self._db.engine.dialect.loaded_dbapi.Error:
            return False
        return True

    def drop(self, conn: Any) -> None:
        """Forget a broken connection; the thread's next append makes a new one."""
        if getattr(self._local, "conn", None) is conn:
            del self._local.conn
        with self._lock:
            if conn in self._owned:
                self._owned.remove(conn)
        with contextlib.suppress(Exception):
            conn.close()

    def close(self) -> None:
        with self._lock:
            owned, self._owned = self._owned, []
        for conn in owned:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()


def _sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DATETIME writes (naive UTC, always microseconds), so rows
    written here read back through the models exactly like the others."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )
