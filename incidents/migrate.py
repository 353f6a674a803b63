"""Applying the bundled Alembic migrations when a store is opened; no alembic.ini involved.

The migration scripts ship inside the package (`incidents/migrations/`), so an installed wheel
can upgrade a database it finds. A database stamped with a revision this code does not know was
written by a newer oncall: it is refused rather than guessed at.

Opening an up-to-date store (every CLI command, the TUI) only reads the version row: Alembic
itself is imported only when there is something to upgrade, which keeps `oncall incident list`
quick. `REVISIONS` must list the scripts in `migrations/versions/` in order; a test checks it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from incidents.database import Database
from incidents.errors import SchemaTooNew

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "oncall_schema_version"
REVISIONS: tuple[str, ...] = ("0001", "0002", "0005", "0004", "0003")
"""Every revision in `migrations/versions/`, oldest first; the last one is the head."""

PG_MIGRATION_LOCK = 0x6F6E63616C6C
"""Advisory-lock key that serialises concurrent upgrades of one PostgreSQL database."""

_ALEMBIC_LOCK = threading.Lock()
"""Alembic keeps its running context in module globals: one upgrade per process at a time.
(Other processes are kept apart by the database: the SQLite write lock, the advisory lock.)"""


def head_revision() -> str:
    return REVISIONS[-1]


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code: where the scripts are and which connection to use."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; None for a database oncall has never migrated."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def upgrade(db: Database, target: str = "head") -> None:
    """Bring the database to `target` (the newest revision by default) in one transaction.

    The revision is read first in a read transaction, so opening an up-to-date store never
    takes the write lock: reading a SQLite store another process is writing still works.
    """
    with db.read() as conn:
        current = current_revision(conn)
    if current is not None and current not in REVISIONS:
        raise SchemaTooNew(
            f"the store {db.where} has schema revision {current!r}, which this version of "
            "oncall does not know: it was written by a newer oncall. Upgrade oncall to use "
            "it; nothing was changed"
        )
    if current == (head_revision() if target == "head" else target):
        return
    from alembic import command

    with _ALEMBIC_LOCK, db.write() as conn:
        command.upgrade(alembic_config(conn), target)
