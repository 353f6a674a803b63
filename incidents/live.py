"""Following timelines as they grow: pushed by PostgreSQL, polled cheaply on SQLite.

On PostgreSQL every appended event sends `NOTIFY oncall_events, '<incident>:<seq>'` (a trigger
installed by migration 0005, so every writer notifies, whatever appended). A `Follower` holds
one connection that `LISTEN`s and wakes as soon as a notification arrives: an open screen shows a
colleague's note within a second without re-reading anything in between.

SQLite has no channel between processes, so a `Follower` there reads the chain head (the
incident row's `last_seq`; for all incidents, a count and a sum) every `poll_seconds` and wakes
when it moved: one indexed row read, never the timeline itself.

Either way `wait()` only says *that* something changed; the caller then reads what is new with
`Store.events(incident, after_seq=…)`, so a missed or coalesced notification loses nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from incidents.base import StoreBase
from incidents.errors import StoreUnavailable
from incidents.lifecycle import normalise_incident_id
from incidents.models import INCIDENTS

if TYPE_CHECKING:
    import psycopg

CHANNEL = "oncall_events"
"""The NOTIFY channel (migration 0005's trigger names it too)."""

DEFAULT_POLL_SECONDS = 0.5


class LiveMixin(StoreBase):
    def chain_head(self, incident_id: str | None = None) -> tuple[int, int]:
        """A cheap fingerprint of the timeline(s): (incidents, events) of one incident or of
        all; it changes whenever an event is appended or an incident opened."""
        if incident_id is not None:
            query = select(func.count(), func.coalesce(func.sum(INCIDENTS.c.last_seq), 0)).where(
                INCIDENTS.c.id == normalise_incident_id(incident_id)
            )
        else:
            query = select(func.count(), func.coalesce(func.sum(INCIDENTS.c.last_seq), 0))
        with self._db.read() as conn:
            count, events = conn.execute(query).one()
        return int(count), int(events)

    def follow(
        self, incident_id: str | None = None, poll_seconds: float = DEFAULT_POLL_SECONDS
    ) -> Follower:
        """A `Follower` of one incident's timeline (or of every incident); close it when done."""
        return Follower(self, incident_id, poll_seconds)


class Follower:
    """Waits until a timeline (or any) may have grown. Not thread-safe: one per thread."""

    def __init__(self, store: LiveMixin, incident_id: str | None, poll_seconds: float) -> None:
        self.store = store
        self.incident_id = normalise_incident_id(incident_id) if incident_id else None
        self.poll_seconds = poll_seconds
        self.pushed = store.backend == "postgresql"
        self._conn: psycopg.Connection[Any] | None = None
        self._head = store.chain_head(self.incident_id)
        if self.pushed:
            self._listen()

    def _listen(self) -> None:
        import psycopg

        url = self.store._db.url.set(drivername="postgresql")
        try:
            self._conn = psycopg.connect(
                url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
            )
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.OperationalError as exc:
            self._conn = None
            raise StoreUnavailable(
                f"cannot listen for timeline changes on {self.store._db.where}: {exc}"
            ) from exc

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True as soon as something may have changed."""
        if self.pushed:
            return self._wait_pushed(timeout)
        deadline = time.monotonic() + timeout
        while True:
            head = self.store.chain_head(self.incident_id)
            if head != self._head:
                self._head = head
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.poll_seconds, left))

    def _wait_pushed(self, timeout: float) -> bool:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._listen()  # reconnected: anything may have happened meanwhile
            return True
        assert self._conn is not None
        changed = False
        try:
            for note in self._conn.notifies(timeout=timeout, stop_after=1):
                changed = changed or self._concerns(note.payload)
            # drain what arrived with it (a runbook step appends several events at once)
            for note in self._conn.notifies(timeout=0.01):
                changed = changed or self._concerns(note.payload)
        except psycopg.OperationalError:
            self._conn.close()
            return True
        return changed

    def _concerns(self, payload: str) -> bool:
        return self.incident_id is None or payload.partition(":")[0] == self.incident_id

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
