"""Alembic environment for the store. Run from `incidents.migrate` with an open connection that
is already inside a transaction (`BEGIN IMMEDIATE` on SQLite), so a whole upgrade commits or
rolls back as one. Also usable from the `alembic` command for writing new revisions, given
`-x url=…`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from incidents.migrate import PG_MIGRATION_LOCK, VERSION_TABLE
from incidents.models import Base


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        transactional_ddl=True,  # SQLite too: we emit BEGIN ourselves, so its DDL is transactional
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two `oncall` processes opening a fresh team database at once: the second waits
            # here, then finds the schema current and does nothing.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK}
            )
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    from incidents.database import DEFAULT_BUSY_TIMEOUT, Database, make_engine, parse_url

    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("run with -x url=DATABASE_URL (or open the store with incidents.store)")
    parsed = parse_url(url)
    db = Database(make_engine(parsed, DEFAULT_BUSY_TIMEOUT), parsed, DEFAULT_BUSY_TIMEOUT)
    with db.write() as conn:
        run(conn)


main()
