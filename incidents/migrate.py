"""Applying the bundled Alembic migrations when a store is opened; no alembic.ini involved.

The migration scripts ship inside the package (`incidents/migrations/`), so an installed wheel
can upgrade a database it finds. A database stamped with a revision this code does not know was
written by a newer oncall: it is refused rather than guessed at.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection

from incidents.database import Database
from incidents.errors import SchemaTooNew

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "oncall_schema_version"
PG_MIGRATION_LOCK = 0x6F6E63616C6C
"""Advisory-lock key that serialises concurrent upgrades of one PostgreSQL database."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code: where the scripts are and which connection to use."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    assert head is not None, "incidents/migrations has no revisions"
    return head


def current_revision(conn: Connection) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(db: Database, target: str = "head") -> None:
    """Bring the database to `target` (the newest revision by default) in one transaction.

    The revision is read first in a read transaction, so opening an up-to-date store never
    takes the write lock: reading a SQLite store another process is writing still works.
    """
    scripts = script_directory()
    with db.read() as conn:
        current = current_revision(conn)
    if current is not None:
        try:
            scripts.get_revision(current)
        except CommandError as exc:
            raise SchemaTooNew(
                f"the store {db.where} has schema revision {current!r}, which this version of "
                "oncall does not know: it was written by a newer oncall. Upgrade oncall to use "
                "it; nothing was changed"
            ) from exc
    if target == "head" and current == scripts.get_current_head():
        return
    with db.write() as conn:
        command.upgrade(alembic_config(conn), target)
