"""What every part of the store shares: the database handle, the clock, the id counters.

`Store` is assembled from one mixin per concern (`runs`, `ledger`, `leases`, and the incidents
and timeline in `store`); each mixin only relies on what is declared here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Table, update
from sqlalchemy.dialects import postgresql, sqlite

from incidents.database import Database
from incidents.models import COUNTERS


class StoreBase:
    _db: Database
    clock: Callable[[], datetime]
    """Where "now" comes from (`utc_now`); tests swap it to move time without sleeping."""

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._db.backend

    def _now(self) -> datetime:
        return self.clock()

    @staticmethod
    def _next_number(conn: Connection, counter: str) -> int:
        """The next number of a named counter, in the caller's transaction.

        One UPDATE … RETURNING: the row lock (PostgreSQL) or the write lock (SQLite) it takes is
        held until commit, so concurrent writers are handed distinct, gap-free numbers, and a
        rolled-back transaction gives its number back.
        """
        value = conn.execute(
            update(COUNTERS)
            .where(COUNTERS.c.name == counter)
            .values(value=COUNTERS.c.value + 1)
            .returning(COUNTERS.c.value)
        ).scalar_one()
        return int(value)

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT with `on_conflict_do_nothing`/`on_conflict_do_update` for this backend: the
        one place the two dialects differ in how a conflict is written."""
        if self._db.backend == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
