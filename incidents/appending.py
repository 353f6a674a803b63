"""The timeline's append path, at the driver: one transaction reads the chain head off the
incident's row, writes the events and moves the head once.

Why not SQLAlchemy here: building, compiling and executing three statements through the engine,
and checking a connection out of the pool, cost several times the SQLite transaction itself
(issue 16's profile). This module speaks to DBAPI connections of its own (one per thread, made
by the engine so they get the same PRAGMAs and settings, then detached from its pool), with SQL
text fixed per backend (sqlite3 caches compiled statements; psycopg prepares a statement after a
few executions). The store's design stays: per-incident serialisation and the head (last seq and
hash) on the incident's row.

- SQLite: `BEGIN IMMEDIATE` (the database's write lock), move the head, insert the events,
  `COMMIT`. When this store knows the incident's head (it wrote or read it last) the events are
  chained before the lock and the move is conditional (`WHERE last_seq = … AND head_hash = …`);
  if another writer moved the head meanwhile, nothing matched, and the head is read under the
  lock and the events chained again from it. Otherwise the head is read first.
- PostgreSQL, the locked way: `BEGIN`, `SELECT … FOR UPDATE` on the incident's row, then one
  statement (a data-modifying CTE) that moves the head and inserts every event, `COMMIT`: two
  round trips, the first two statements sent in one pipeline and the last two in another
  (`pipelined`; the alert intake's transactions are written the same way).
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import StaticPool

from incidents.canonical import (
    Origin,
    as_utc,
    canonical_json,
    chain_hash,
    normalise_data_text,
    utc_texts,
)
from incidents.database import Database
from incidents.errors import IncidentNotFound, InvalidValue
from incidents.lifecycle import check_kind, require_text
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


_IDLE = 0
"""libpq's PQTRANS_IDLE (`psycopg.pq.TransactionStatus.IDLE`): no transaction open. A number
here so importing this module never imports psycopg (SQLite stores do not need it)."""

_SQLITE_ROWS = 500
"""Events per multi-row INSERT on SQLite: 6,000 parameters, well under its limit (32,766)."""


class Prepared(NamedTuple):
    """One event checked, normalised and with its data's canonical text, before it has a place
    in the chain (seq, prev_hash and hash come from the head inside the transaction). Tuples,
    here and below: made once per event on the hot path, where a frozen dataclass's
    `__init__` cost a microsecond each."""

    kind: str
    message: str
    actor: str
    data: dict[str, Any]
    data_text: str
    at: datetime | None
    origin: Origin | None = None


def prepare(
    kind: str,
    message: str,
    actor: str,
    data: Mapping[str, Any] | None,
    at: datetime | None,
    origin: Origin | None,
) -> Prepared:
    """Check and normalise one event before the transaction (nothing here needs the lock)."""
    check_kind(kind)
    clean, data_text = normalise_data_text(data)
    return Prepared(
        kind,
        require_text(message, "the event message"),
        require_text(actor, "the actor"),
        clean,
        data_text,
        at,
        origin,
    )


def prepare_normalised(
    kind: str,
    message: str,
    actor: str,
    data: dict[str, Any],
    at: datetime | None,
    origin: Origin | None,
) -> Prepared:
    """`prepare` for data made only of what `normalise_data` returned (with plain JSON values
    added): its canonical text is written without walking it again. The alert intake's way,
    whose data is normalised once for the receipt and again would be for nothing."""
    check_kind(kind)
    try:
        data_text = canonical_json(data)
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"event data is not JSON: {exc}") from exc
    return Prepared(
        kind,
        require_text(message, "the event message"),
        require_text(actor, "the actor"),
        data,
        data_text,
        at,
        origin,
    )


class Head(NamedTuple):
    """The chain head as read off the incident's row."""

    last_seq: int
    head_hash: str
    opened_at: datetime


class Linked(NamedTuple):
    """An event with its place in the chain; `stored_at` is the time as the backend's row
    takes it (SQLite: SQLAlchemy's text; PostgreSQL: the datetime)."""

    event: Prepared
    seq: int
    at: datetime
    prev_hash: str
    hash: str
    stored_at: Any


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
            self._head_sql = numbered(self._head_sql)
            row = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
            self._locked_sql = SqlBySize(
                "WITH moved AS (UPDATE incidents SET last_seq = %s, head_hash = %s "
                f"WHERE id = %s) INSERT INTO events ({names}) VALUES {{rows}} RETURNING seq, id",
                row,
                numbered=True,
            )
            self._cas_sql = SqlBySize(
                "WITH moved AS (UPDATE incidents SET last_seq = %s, head_hash = %s "
                "WHERE id = %s AND last_seq = %s AND head_hash = %s RETURNING id) "
                f"INSERT INTO events ({names}) SELECT * FROM (VALUES {{rows}}) AS v ({names}) "
                "WHERE EXISTS (SELECT 1 FROM moved) RETURNING seq, id",
                row,
                numbered=True,
            )
        else:
            self._head_sql = "SELECT last_seq, head_hash, opened_at FROM incidents WHERE id = ?"
            self._insert_sql = (
                f"INSERT INTO events ({names}) VALUES ({', '.join(['?'] * len(EVENT_COLUMNS))})"
            )
            self._many_sql = SqlBySize(
                f"INSERT INTO events ({names}) VALUES {{rows}} RETURNING seq, id",
                "(" + ", ".join(["?"] * len(EVENT_COLUMNS)) + ")",
            )
            self._move_sql = "UPDATE incidents SET last_seq = ?, head_hash = ? WHERE id = ?"
            self._move_if_sql = self._move_sql + " AND last_seq = ? AND head_hash = ?"

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
        head = self._heads.get(incident_id) if events else None
        linked = self._link(incident_id, head, events) if head is not None else None
        conn = self._connections.get()
        try:
            cursor = self._connections.cursor(conn)
            cursor.execute("BEGIN IMMEDIATE")
            try:
                if head is not None and linked is not None:
                    last = linked[-1]
                    moved = (last.seq, last.hash, incident_id, head.last_seq, head.head_hash)
                    if cursor.execute(self._move_if_sql, moved).rowcount != 1:
                        linked = None  # another writer moved the head: chain from the real one
                if linked is None:
                    head, linked, ids = self._write_locked(cursor, incident_id, events)
                else:
                    ids = self._insert_sqlite(cursor, incident_id, linked)
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
        if linked:
            self._remember(incident_id, head, linked)
        return self._events(incident_id, linked, ids)

    def _append_locked_postgres(self, incident_id: str, events: Sequence[Prepared]) -> list[Event]:
        """The locked way in two round trips: `BEGIN` and the head read under the row lock in
        one pipeline, then the events (one statement) and `COMMIT` in another."""
        with self.pipelined() as conn:
            cursor, second = self._connections.cursors(conn)
            with conn.pipeline():
                cursor.execute("BEGIN")
                cursor.execute(self._head_sql, (incident_id,))
            head = self._read_head(cursor, incident_id)
            linked = self._link(incident_id, head, events)
            with conn.pipeline():
                if linked:
                    self.queue_locked(cursor, incident_id, linked)
                second.execute("COMMIT")
            ids = self._ids(cursor, linked) if linked else []
        if linked:
            self._remember(incident_id, head, linked)
        return self._events(incident_id, linked, ids)

    # -- pipelined transactions (PostgreSQL) ---------------------------------------------------

    @contextlib.contextmanager
    def pipelined(self) -> Iterator[Any]:
        """PostgreSQL: this thread's own connection (autocommit) for one transaction that the
        caller begins and commits by hand, sending its statements in pipelines (psycopg's
        `Connection.pipeline()`): `BEGIN` goes with the first statements and `COMMIT` with the
        last writes, so a transaction costs one round trip per step whose statements depend on
        an earlier step's answer, not one per statement. A statement that fails aborts the
        rest of its pipeline (the `COMMIT` too); whatever is left open when the block ends, by
        an error or not, is rolled back, so nothing is half-written. Driver errors are raised
        as SQLAlchemy's (a server that cannot be reached: `StoreUnavailable`)."""
        with self._connection() as conn:
            try:
                yield conn
            finally:
                if not conn.closed and conn.info.transaction_status != _IDLE:
                    with contextlib.suppress(Exception):
                        conn.execute("ROLLBACK")

    def queue_locked(self, cursor: Any, incident_id: str, linked: list[Linked]) -> None:
        """Send (in the caller's pipeline) the one statement that writes `linked` and moves the
        head, in a transaction holding the incident's row lock; its RETURNING rows give the
        ids (`ids_after`) once the pipeline is synced."""
        cursor.execute(self._locked_sql.sql(len(linked)), self._params(incident_id, linked))

    def head_from(self, row: Sequence[Any]) -> Head:
        """A head from a row read by the caller under the row lock (last_seq, head_hash,
        opened_at)."""
        return Head(int(row[0]), row[1], as_utc(row[2]))

    def link(self, incident_id: str, head: Head, events: Sequence[Prepared]) -> list[Linked]:
        return self._link(incident_id, head, events)

    def written(
        self, cursor: Any, incident_id: str, head: Head, linked: list[Linked]
    ) -> list[Event]:
        """The events `queue_locked` wrote, from its cursor, once their transaction committed;
        the new head is remembered (this store's next append to the incident can take the
        one-round-trip way)."""
        ids = self._ids(cursor, linked)
        self._remember(incident_id, head, linked)
        return self._events(incident_id, linked, ids)

    def append_within(
        self,
        connection: Connection,
        incident_id: str,
        events: Sequence[Prepared],
        head: Head | None = None,
    ) -> list[Event]:
        """Append `events` inside the caller's write transaction (`Database.write`), with what
        else it writes: opening an incident, a status change, a batch of alerts and their
        receipts are all or nothing together. `head`: the incident's head when the caller has
        just read it under the row lock (else it is read, and locked, here)."""
        with self.driver_cursor(connection) as cursor:
            _head, linked, ids = self._write_locked(cursor, incident_id, events, head)
        self._heads.pop(incident_id, None)  # known again once the transaction is over
        return self._events(incident_id, linked, ids)

    @contextlib.contextmanager
    def driver_cursor(self, connection: Connection) -> Iterator[Any]:
        """A driver cursor in the caller's transaction (for the statements of the hot paths,
        written per backend), whose errors are raised as SQLAlchemy's, so the caller's
        `Database.write` translates them like its own (a locked or unreachable store: 503)."""
        dialect = self._db.engine.dialect
        driver = connection.connection.driver_connection
        cursor = raw_cursor(driver) if self._postgres else driver.cursor()
        try:
            yield cursor
        except dialect.loaded_dbapi.Error as exc:
            raise sa_exc.DBAPIError.instance(
                None, None, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc
        finally:
            cursor.close()

    def _write_locked(
        self, cursor: Any, incident_id: str, events: Sequence[Prepared], head: Head | None = None
    ) -> tuple[Head, list[Linked], list[int]]:
        """The append itself, in a transaction that holds SQLite's write lock or PostgreSQL's
        lock on the incident's row (`_head_sql` takes it): read the head (unless the caller
        has), chain the events on, write them and move the head once. Every append of the
        store ends here."""
        if head is None:
            cursor.execute(self._head_sql, (incident_id,))
            head = self._read_head(cursor, incident_id)
        linked = self._link(incident_id, head, events)
        if not linked:
            return head, linked, []
        if self._postgres:
            cursor.execute(self._locked_sql.sql(len(linked)), self._params(incident_id, linked))
            return head, linked, self._ids(cursor, linked)
        last = linked[-1]
        cursor.execute(self._move_sql, (last.seq, last.hash, incident_id))
        return head, linked, self._insert_sqlite(cursor, incident_id, linked)

    def _insert_sqlite(self, cursor: Any, incident_id: str, linked: list[Linked]) -> list[int]:
        """One event by its own INSERT (its id is `lastrowid`); several by one multi-row INSERT
        … RETURNING, in chunks within SQLite's parameter limit."""
        if len(linked) == 1:
            cursor.execute(self._insert_sql, self._values(incident_id, linked[0]))
            return [int(cursor.lastrowid)]
        by_seq: dict[int, int] = {}
        for first in range(0, len(linked), _SQLITE_ROWS):
            chunk = linked[first : first + _SQLITE_ROWS]
            params = [value for item in chunk for value in self._values(incident_id, item)]
            by_seq.update(cursor.execute(self._many_sql.sql(len(chunk)), params).fetchall())
        return [int(by_seq[item.seq]) for item in linked]

    def _append_if_head(
        self, incident_id: str, head: Head, events: Sequence[Prepared]
    ) -> list[Event] | None:
        """The one-statement append from a head this store knows; None when the head has moved
        since (nothing was written)."""
        linked = self._link(incident_id, head, events)
        params = [*self._params(incident_id, linked)]
        params[3:3] = [head.last_seq, head.head_hash]  # after the head's new seq, hash, id
        with self._connection() as conn:
            cursor = self._connections.cursor(conn)
            cursor.execute(self._cas_sql.sql(len(linked)), params)
            rows = cursor.fetchall()
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
        postgres = self._postgres
        for event in events:
            seq += 1
            at = self._event_time(incident_id, head, event.at)
            at_text, sqlite_at = utc_texts(at)
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
                at_text=at_text,
            )
            linked.append(Linked(event, seq, at, prev_hash, digest, at if postgres else sqlite_at))
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
        return (
            incident_id,
            item.seq,
            item.stored_at,
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
        events = []
        for (event, seq, at, prev_hash, digest, _stored), event_id in zip(linked, ids, strict=True):
            origin = event.origin
            events.append(
                Event(
                    event_id,
                    incident_id,
                    seq,
                    at,
                    event.actor,
                    event.kind,
                    event.message,
                    event.data,
                    prev_hash,
                    digest,
                    origin.os_user if origin else None,
                    origin.host if origin else None,
                    origin.impersonated if origin else None,
                )
            )
        return events

    # -- connections -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        """This thread's DBAPI connection; driver errors raised as SQLAlchemy's (translated by
        the database into one clear message), and a broken connection dropped."""
        conn = None
        try:
            conn = self._connections.get()  # a new connection to a server that is gone: 503
            yield conn
        except Exception as exc:
            error = self._driver_error(exc, conn)
            if error is exc:
                raise
            with self._db.translate_errors():
                raise error from exc
        finally:
            if conn is not None:
                self._connections.put(conn)

    def _driver_error(self, exc: Exception, conn: Any | None) -> Exception:
        """The exception to raise for `exc`: a driver error as SQLAlchemy's (whose messages
        `Database.translate_errors` knows), anything else as it is. A connection the error
        broke is dropped; the thread's next append opens a new one."""
        dialect = self._db.engine.dialect
        dbapi = dialect.loaded_dbapi
        if not isinstance(exc, dbapi.Error):
            return exc
        if conn is not None and dialect.is_disconnect(exc, conn, None):
            self._connections.drop(conn)
        return sa_exc.DBAPIError.instance(None, None, exc, dbapi.Error, dialect=dialect)


class SqlBySize:
    """A statement with a VALUES list of n rows, built once per n (psycopg prepares each);
    `numbered`: with PostgreSQL's own placeholders (`numbered`)."""

    def __init__(self, template: str, row: str, *, numbered: bool = False) -> None:
        self._template = template
        self._row = row
        self._numbered = numbered
        self._built: dict[int, str] = {}

    def sql(self, rows: int) -> str:
        text = self._built.get(rows)
        if text is None:
            text = self._template.format(rows=", ".join([self._row] * rows))
            if self._numbered:
                text = numbered(text)
            self._built[rows] = text
        return text


def numbered(sql: str) -> str:
    """`sql` with PostgreSQL's own placeholders (`$1`, `$2`, … for its `%s`, in order), for
    psycopg's `RawCursor`, which sends the text as it is. Every cursor of the hot paths on
    PostgreSQL is one (`raw_cursor`): psycopg parses a `%s` statement at each execution once
    it has more than 50 parameters (its cache stops there), and a multi-row INSERT of a
    20-alert group has 140-240; under the intake bench that parsing was a tenth of the
    server's CPU."""
    parts = sql.split("%s")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


def raw_cursor(driver_connection: Any) -> Any:
    """A psycopg `RawCursor` on the connection (statements written with `numbered`)."""
    from psycopg import RawCursor  # only ever called on PostgreSQL, where psycopg is loaded

    return RawCursor(driver_connection)


class _Connections:
    """DBAPI connections owned by the append path (and the alert intake's pipelined writes).

    Each is made by the engine (so the SQLite PRAGMAs and the PostgreSQL connect options
    apply) and detached from its pool: checking a connection out of the pool on every append
    cost as much as the append (and on PostgreSQL a round trip for the pool's pre-ping). A
    PostgreSQL connection idle for `ping_after_idle` seconds is pinged before use instead, and
    replaced if the server dropped it meanwhile, so a restarted server costs no failed append
    (what the pool's pre-ping gives the rest of the store). An in-memory SQLite database has
    one shared connection, which stays the pool's.

    SQLite: one connection per thread that appends (a sqlite3 connection belongs to its
    thread). PostgreSQL: a free list, so a store holds as many connections as appends run at
    once, not one per thread that ever appended (`oncall serve` writes from a pool of up to
    40 worker threads, one writer at a time; a connection each would crowd the server's
    `max_connections`). Each connection keeps its two cursors (`cursors`).
    """

    ping_after_idle = 10.0

    def __init__(self, db: Database) -> None:
        self._db = db
        self._local = threading.local()
        self._lock = threading.Lock()
        self._owned: list[Any] = []
        self._shared = isinstance(db.engine.pool, StaticPool)
        self._postgres = db.backend == "postgresql"
        self._free: list[Any] = []  # PostgreSQL: connections not in use, the last used last
        self._used: dict[int, float] = {}  # id(connection) -> when it was last put back
        self._cursors: dict[int, tuple[Any, Any]] = {}  # id(connection) -> its cursors
        self._in_use: set[int] = set()  # id(connection) of those between `get` and `put`
        self._close_on_put: set[int] = set()  # in use when the store was closed

    def get(self) -> Any:
        if self._shared:
            self._local.fairy = self._db.engine.raw_connection()
            return self._local.fairy.driver_connection
        if self._postgres:
            conn = self._get_postgres()
        else:
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._make()
                self._local.conn = conn
        with self._lock:
            self._in_use.add(id(conn))
        return conn

    def _get_postgres(self) -> Any:
        with self._lock:
            conn = self._free.pop() if self._free else None
        if conn is not None:
            idle = time.monotonic() - self._used.get(id(conn), 0.0) >= self.ping_after_idle
            if idle and not self._alive(conn):
                self.drop(conn)
                conn = None
        if conn is None:
            conn = self._make()
            conn.autocommit = True  # transactions are begun and committed by hand
            conn.cursor_factory = type(raw_cursor(conn))  # statements written with `numbered`
        return conn

    def _make(self) -> Any:
        fairy = self._db.engine.raw_connection()
        conn = fairy.driver_connection
        fairy.detach()
        with self._lock:
            self._owned.append(conn)
        return conn

    def cursors(self, conn: Any) -> tuple[Any, Any]:
        """The connection's two cursors, made once: a new cursor per append cost as much on
        PostgreSQL as a tenth of the round trip, and in a pipeline each cursor keeps the
        answer of the last statement it sent, so a write's RETURNING rows and the COMMIT sent
        after it need two."""
        if self._shared:
            return conn.cursor(), conn.cursor()
        pair = self._cursors.get(id(conn))
        if pair is None:
            pair = self._cursors[id(conn)] = (conn.cursor(), conn.cursor())
        return pair

    def cursor(self, conn: Any) -> Any:
        return self.cursors(conn)[0]

    def put(self, conn: Any) -> None:
        if self._shared:
            fairy = self._local.__dict__.pop("fairy", None)
            if fairy is not None:
                fairy.close()
            return
        with self._lock:
            self._in_use.discard(id(conn))
            close = id(conn) in self._close_on_put
            self._close_on_put.discard(id(conn))
            if self._postgres and not close and any(owned is conn for owned in self._owned):
                self._used[id(conn)] = time.monotonic()  # not dropped meanwhile: reusable
                self._free.append(conn)
        if close:
            with contextlib.suppress(Exception):
                conn.close()

    def _alive(self, conn: Any) -> bool:
        """A round trip that changes nothing (the connection is in autocommit)."""
        try:
            conn.execute("SELECT 1")
        except self._db.engine.dialect.loaded_dbapi.Error:
            return False
        return True

    def drop(self, conn: Any) -> None:
        """Forget a broken connection; the next append makes a new one."""
        if getattr(self._local, "conn", None) is conn:
            del self._local.conn
        with self._lock:
            self._owned = [owned for owned in self._owned if owned is not conn]
            self._free = [free for free in self._free if free is not conn]
            self._used.pop(id(conn), None)
            self._cursors.pop(id(conn), None)
        with contextlib.suppress(Exception):
            conn.close()

    def close(self) -> None:
        """Close every connection no thread is using; one in use (a worker still appending
        while the app closes its store) is closed when that append puts it back. Closing a
        sqlite3 connection under another thread's statement crashes the process (a full
        test run saw a worker's COMMIT segfault as an app exited)."""
        with self._lock:
            owned, self._owned = self._owned, []
            idle = [conn for conn in owned if id(conn) not in self._in_use]
            self._close_on_put |= {id(conn) for conn in owned if id(conn) in self._in_use}
            self._free, self._used, self._cursors = [], {}, {}
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()
