"""Engines and transactions for both backends, and the translation of driver errors into one
clear `StoreUnavailable` message.

SQLite: WAL (readers never wait for the writer), a busy timeout, foreign keys on, and every write
transaction opened with `BEGIN IMMEDIATE` so two writers queue on the database lock instead of
both reading the chain head and one failing at commit. pysqlite's own transaction handling is
switched off for that (SQLAlchemy's documented recipe) and SQLAlchemy emits the BEGIN itself.
PostgreSQL: plain READ COMMITTED; writers serialise on the rows they lock (`SELECT … FOR UPDATE`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from incidents.errors import ReadOnlyStore, StoreBusy, StoreUnavailable

DEFAULT_BUSY_TIMEOUT = 5.0
"""Seconds a SQLite writer waits for the lock before giving up with a clear message."""

PG_CONNECT_TIMEOUT = 5
"""Seconds to wait for a PostgreSQL server before calling it unreachable."""

_BEGIN_OPTION = "oncall_sqlite_begin"


def parse_url(url: str) -> URL:
    """The URL as SQLAlchemy understands it, limited to the two backends oncall supports."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError as exc:
        raise StoreUnavailable(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":  # the installed driver is psycopg 3
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif parsed.drivername != "postgresql+psycopg":
            raise StoreUnavailable(
                f"{describe(parsed)}: use postgresql+psycopg:// (psycopg 3 is the driver oncall ships)"
            )
    elif backend != "sqlite":
        raise StoreUnavailable(
            f"{describe(parsed)}: oncall keeps its state in SQLite or PostgreSQL, not {backend}"
        )
    return parsed


def describe(url: URL) -> str:
    """The URL for messages: the password hidden, a SQLite file shown as its path."""
    if url.get_backend_name() == "sqlite" and sqlite_path(url) is not None:
        return str(sqlite_path(url))
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The file behind a SQLite URL; None for in-memory or `file:` URI databases."""
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def cannot_write(path: Path) -> bool:
    """True when an existing SQLite file, or the folder it needs for its -wal and -shm files,
    cannot be written by this process (permissions, or a read-only file system even for root)."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def read_only_url(path: Path) -> URL:
    """A URL that opens `path` read-only (`mode=ro`). When the folder cannot be written and no
    -shm file exists, no writer has the database open (a WAL writer keeps that file), and
    SQLite could not create the file to read the WAL: `immutable=1` reads the file as it is."""
    query = {"mode": "ro", "uri": "true"}
    if not os.access(path.parent, os.W_OK) and not Path(f"{path}-shm").exists():
        query["immutable"] = "1"
    return URL.create("sqlite", database=f"file:{path.resolve()}", query=query)


def is_read_only(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.query.get("mode") == "ro"


def make_engine(url: URL, busy_timeout: float) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout)
    return create_engine(
        url,
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT},
        pool_pre_ping=True,
    )


def _sqlite_engine(url: URL, busy_timeout: float) -> Engine:
    in_memory = sqlite_path(url) is None and not (url.database or "").startswith("file:")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": busy_timeout}}
    if in_memory:  # one shared connection, or every checkout would see a different database
        kwargs.update(
            poolclass=StaticPool,
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
        )
    engine = create_engine(url, **kwargs)
    busy_ms = int(busy_timeout * 1000)
    read_only = is_read_only(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            if not in_memory and not read_only:  # setting the journal mode may write
                cursor.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL never corrupts the database; a power cut may lose the last
            # commits, not the chain's integrity. It is what makes the append target reachable.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """An engine plus the two kinds of transaction the store uses, with errors translated."""

    def __init__(
        self, engine: Engine, url: URL, busy_timeout: float, *, where: str | None = None
    ) -> None:
        self.engine = engine
        self.url = url
        self.busy_timeout = busy_timeout
        self.backend = url.get_backend_name()
        self.read_only = is_read_only(url)
        self._read_only_because = "it cannot be written by this user"
        self._where = where

    @property
    def where(self) -> str:
        return self._where or describe(self.url)

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: `BEGIN IMMEDIATE` on SQLite; committed on success, else rolled
        back so nothing is half-written. A store opened read-only refuses before touching it."""
        self.refuse_if_read_only()
        with self.translate_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    def refuse_if_read_only(self) -> None:
        """Every write path calls this first: a read-only store says so before touching the file."""
        if self.read_only:
            raise ReadOnlyStore(
                f"read-only: nothing was changed (the store {self.where}: "
                f"{self._read_only_because})"
            )

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot; on SQLite a deferred BEGIN, so readers never take the write lock."""
        with self.translate_errors(), self.engine.connect() as conn:
            conn.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def translate_errors(self) -> Iterator[None]:
        try:
            yield
        except sa_exc.DBAPIError as exc:
            kind = classify(exc)
            if kind is None:
                raise
            raise unavailable(exc, self.url, self.busy_timeout, kind, self.where) from exc

    def probe_writable(self) -> None:
        """On PostgreSQL, find out before any write whether this connection may write the
        store (a standby, `default_transaction_read_only`, or a user granted only SELECT); if
        not, the store is read-only from now on and every write refuses before touching it,
        as a SQLite file this user cannot write does. SQLite decides from the file (`open`)."""
        if self.backend != "postgresql" or self.read_only:
            return
        with self.read() as conn:
            read_only, standby, may_insert = conn.exec_driver_sql(
                "SELECT current_setting('transaction_read_only') = 'on', pg_is_in_recovery(), "
                "has_table_privilege('events', 'INSERT')"
            ).one()
        if standby:
            self._read_only_because = "it is a standby in recovery"
        elif read_only:
            self._read_only_because = "its transactions are read-only by default"
        elif not may_insert:
            self._read_only_because = f"user {self.url.username or '?'} may not write its tables"
        else:
            return
        self.read_only = True


#: What went wrong with the database, by its error code (never by the text of the message).
ErrorKind = str  # "busy" | "read_only" | "no_privilege" | "cannot_open" | "unreachable" | "failed"

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CANTOPEN = 5, 6, 8, 14


def classify(exc: sa_exc.DBAPIError) -> ErrorKind | None:
    """The kind of a driver error by its code: SQLite's primary result code, PostgreSQL's
    SQLSTATE. None for an error that is a bug of ours (a constraint, bad SQL): it propagates."""
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return "busy"
        if primary == _SQLITE_READONLY:
            return "read_only"
        if primary == _SQLITE_CANTOPEN:
            return "cannot_open"
        if isinstance(orig, sqlite3.OperationalError):
            return "failed"
        return None
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is None:
        # No SQLSTATE: the driver never reached a server (refused, timed out, closed).
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            return "unreachable"
        return None
    if sqlstate == "25006":  # read_only_sql_transaction
        return "read_only"
    if sqlstate == "42501":  # insufficient_privilege
        return "no_privilege"
    if sqlstate.startswith(("08", "57", "53")):  # connection, operator intervention, resources
        return "unreachable"
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return "failed"
    return None


def _driver_message(exc: sa_exc.DBAPIError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc.orig).__name__


def unavailable(
    exc: sa_exc.DBAPIError,
    url: URL,
    busy_timeout: float,
    kind: ErrorKind | None = None,
    where: str | None = None,
) -> StoreUnavailable:
    """One sentence saying what is wrong with the database and, where it helps, what to do."""
    where = where or describe(url)
    message = _driver_message(exc)
    kind = kind or classify(exc) or "failed"
    sqlite = url.get_backend_name() == "sqlite"
    if kind == "busy":
        return StoreBusy(
            f"the store {where} is locked by another process (waited {busy_timeout:g}s); "
            "nothing was changed, try again when it is done"
        )
    if kind == "read_only":
        return ReadOnlyStore(f"read-only: nothing was changed (the store {where}: {message})")
    if kind == "no_privilege":
        return ReadOnlyStore(
            f"read-only: nothing was changed (user {url.username or '?'} may not write the "
            f"store {where}: {message})"
        )
    if kind == "cannot_open" and sqlite:
        path = sqlite_path(url)
        if path is not None and path.parent.is_dir() and not os.access(path.parent, os.W_OK):
            return StoreUnavailable(
                f"the store {where} is in a read-only directory: SQLite needs to write its "
                "-wal and -shm files beside it; nothing was changed"
            )
        return StoreUnavailable(f"cannot open the store {where}: {message}")
    if kind == "unreachable":
        return StoreUnavailable(f"cannot reach the database {where}: {message}")
    noun = "store" if sqlite else "database"
    return StoreUnavailable(f"the {noun} {where} failed: {message}; nothing was changed")
