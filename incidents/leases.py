"""Asset leases: at most one run changes an asset at a time — the guard the resubmitted batch job
never had.

Acquiring is decided by the database, not by a read in Python: an INSERT that does nothing on
conflict, then an UPDATE that only matches an expired lease or one the same run already holds.
Whichever statement returns a row won. Leases expire unless renewed by heartbeat; taking over a
live one is `force_lease`, which returns the previous holder so the engine can put it on the
timeline.

Fencing: a lease carries the session token of the process that holds it. Heartbeat, release and
`confirm_leases` (the check right before an effect) match on that token, so once another session
has taken the lease over (by force, or after it expired) every write of the old one does nothing
and says so: the old process learns it was fenced and stops.

Times come from the store's clock (this machine). Operators sharing a PostgreSQL store should
keep their clocks in sync (NTP); a skew shortens or lengthens others' leases by that much.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, case, delete, or_, select, update

from incidents.base import StoreBase
from incidents.errors import InvalidValue, LeaseHeld, LeaseLost
from incidents.lifecycle import normalise_incident_id, normalise_run_id, require_text
from incidents.models import LEASES


@dataclass(frozen=True, slots=True)
class Lease:
    asset: str
    holder: str
    incident_id: str | None
    run_id: str
    host: str
    acquired_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    session: str = ""

    def is_expired(self, at: datetime) -> bool:
        return self.expires_at <= at

    @classmethod
    def from_row(cls, row: Row[Any]) -> Lease:
        return cls(
            asset=row.asset,
            holder=row.holder,
            incident_id=row.incident_id,
            run_id=row.run_id,
            host=row.host,
            acquired_at=row.acquired_at,
            heartbeat_at=row.heartbeat_at,
            expires_at=row.expires_at,
            session=row.session or "",
        )


class LeasesMixin(StoreBase):
    def acquire_lease(
        self,
        asset: str,
        holder: str,
        incident_id: str | None,
        run_id: str,
        ttl_seconds: float,
        host: str,
        session: str = "",
    ) -> Lease:
        """Take the lease on `asset` for `run_id` in `session`, or raise LeaseHeld naming the live
        holder.

        Re-acquiring by the session that holds it renews it (keeping `acquired_at`); an expired
        lease is taken over, with this session's token (the old holder is fenced). A live lease
        of the same run held by another session is refused like any other: taking it over is
        `force_lease`, decided by the engine (is that process gone?).
        """
        values = _lease_values(asset, holder, incident_id, run_id, host, session)
        now, expires = self._window(ttl_seconds)
        with self._db.write() as conn:
            inserted = conn.execute(
                self._insert(LEASES)
                .values(**values, acquired_at=now, heartbeat_at=now, expires_at=expires)
                .on_conflict_do_nothing(index_elements=[LEASES.c.asset])
                .returning(*LEASES.c)
            ).first()
            if inserted is not None:
                return Lease.from_row(inserted)
            same_run = (LEASES.c.run_id == values["run_id"]) & (
                LEASES.c.session == values["session"]
            )
            taken = conn.execute(
                update(LEASES)
                .where(LEASES.c.asset == values["asset"], or_(LEASES.c.expires_at <= now, same_run))
                .values(
                    **values,
                    acquired_at=case((same_run, LEASES.c.acquired_at), else_=now),
                    heartbeat_at=now,
                    expires_at=expires,
                )
                .returning(*LEASES.c)
            ).first()
            if taken is not None:
                return Lease.from_row(taken)
            current = _lease(conn, values["asset"])
        # Not inside the transaction: nothing was written, and the message is about `current`.
        assert current is not None  # the INSERT conflicted, and only release deletes
        raise LeaseHeld(current)

    def heartbeat_lease(
        self, asset: str, run_id: str, ttl_seconds: float, session: str | None = None
    ) -> Lease:
        """Renew the run's lease for another `ttl_seconds`. Raises LeaseLost if the run (in
        `session`, when given) no longer holds it (released, or taken over after expiring or by
        force): the run must stop."""
        asset = require_text(asset, "the asset")
        run_id = normalise_run_id(run_id)
        now, expires = self._window(ttl_seconds)
        held = [LEASES.c.asset == asset, LEASES.c.run_id == run_id]
        if session is not None:
            held.append(LEASES.c.session == session)
        with self._db.write() as conn:
            renewed = conn.execute(
                update(LEASES)
                .where(*held)
                .values(heartbeat_at=now, expires_at=expires)
                .returning(*LEASES.c)
            ).first()
            if renewed is not None:
                return Lease.from_row(renewed)
            current = _lease(conn, asset)
        raise LeaseLost(f"{run_id} no longer holds the lease on {asset}: {_now_held(current)}")

    def confirm_leases(
        self, assets: list[str], run_id: str, session: str, ttl_seconds: float
    ) -> list[Lease]:
        """Renew this session's leases on `assets` in one conditional statement and return the
        ones it no longer holds (as they are now; a missing row is a Lease-less asset, reported
        by raising LeaseLost). Empty: every lease is still this session's — go ahead.

        The engine calls it immediately before every effect and every retry, after any prompt:
        the row count, not a cached belief, says whether this process may still act."""
        wanted = sorted({require_text(a, "the asset") for a in assets})
        if not wanted:
            return []
        run_id = normalise_run_id(run_id)
        now, expires = self._window(ttl_seconds)
        with self._db.write() as conn:
            renewed = set(
                conn.execute(
                    update(LEASES)
                    .where(
                        LEASES.c.asset.in_(wanted),
                        LEASES.c.run_id == run_id,
                        LEASES.c.session == session,
                    )
                    .values(heartbeat_at=now, expires_at=expires)
                    .returning(LEASES.c.asset)
                ).scalars()
            )
            missing = [a for a in wanted if a not in renewed]
            lost = [_lease(conn, a) for a in missing]
        gone = [a for a, lease in zip(missing, lost, strict=True) if lease is None]
        if gone:
            raise LeaseLost(
                f"{run_id} no longer holds the lease on {', '.join(gone)}: it is not held"
            )
        return [lease for lease in lost if lease is not None]

    def release_lease(self, asset: str, run_id: str, session: str | None = None) -> bool:
        """Give the lease back. True if the run (in `session`, when given) held it; releasing
        twice, or after a takeover, is harmless and releases nothing."""
        asset = require_text(asset, "the asset")
        run_id = normalise_run_id(run_id)
        held = [LEASES.c.asset == asset, LEASES.c.run_id == run_id]
        if session is not None:
            held.append(LEASES.c.session == session)
        with self._db.write() as conn:
            gone = conn.execute(delete(LEASES).where(*held).returning(LEASES.c.asset)).first()
            return gone is not None

    def force_lease(
        self,
        asset: str,
        holder: str,
        incident_id: str | None,
        run_id: str,
        ttl_seconds: float,
        host: str,
        session: str = "",
        *,
        only_from: str | None = None,
    ) -> tuple[Lease, Lease | None]:
        """Take the lease whoever holds it, with this session's token (the previous session is
        fenced from now on); returns (the new lease, the one it replaced or None).

        `only_from`: take it only from the session with that token (the one the caller looked
        at and decided to take over); anyone else holding it now raises LeaseHeld.

        The caller records the takeover and its reason on the timeline; the store only makes
        sure the previous holder it reports is the one actually replaced (the row is locked).
        """
        values = _lease_values(asset, holder, incident_id, run_id, host, session)
        now, expires = self._window(ttl_seconds)
        fresh = {**values, "acquired_at": now, "heartbeat_at": now, "expires_at": expires}
        with self._db.write() as conn:
            while True:
                previous = _lease(conn, values["asset"], lock=True)
                if previous is None:
                    inserted = conn.execute(
                        self._insert(LEASES)
                        .values(**fresh)
                        .on_conflict_do_nothing(index_elements=[LEASES.c.asset])
                        .returning(*LEASES.c)
                    ).first()
                    if inserted is not None:
                        return Lease.from_row(inserted), None
                    continue  # someone acquired it between our read and insert: lock it now
                if only_from is not None and previous.session != only_from:
                    raise LeaseHeld(previous)
                replaced = conn.execute(
                    update(LEASES)
                    .where(LEASES.c.asset == values["asset"])
                    .values(**fresh)
                    .returning(*LEASES.c)
                ).one()
                return Lease.from_row(replaced), previous

    def get_lease(self, asset: str) -> Lease | None:
        """The lease row for `asset`, live or expired (check `is_expired`), or None."""
        with self._db.read() as conn:
            return _lease(conn, require_text(asset, "the asset"))

    def list_leases(self, run_id: str | None = None) -> list[Lease]:
        query = select(LEASES).order_by(LEASES.c.asset)
        if run_id is not None:
            query = query.where(LEASES.c.run_id == normalise_run_id(run_id))
        with self._db.read() as conn:
            return [Lease.from_row(row) for row in conn.execute(query)]

    def _window(self, ttl_seconds: float) -> tuple[datetime, datetime]:
        if not ttl_seconds or ttl_seconds <= 0:
            raise InvalidValue(f"a lease needs a positive TTL (got {ttl_seconds!r} seconds)")
        now = self._now()
        return now, now + timedelta(seconds=ttl_seconds)


def _lease_values(
    asset: str, holder: str, incident_id: str | None, run_id: str, host: str, session: str
) -> dict[str, Any]:
    return {
        "asset": require_text(asset, "the asset"),
        "holder": require_text(holder, "the lease holder"),
        "incident_id": normalise_incident_id(incident_id) if incident_id else None,
        "run_id": normalise_run_id(run_id),
        "host": require_text(host, "the host"),
        "session": session or "",
    }


def _now_held(current: Lease | None) -> str:
    if current is None:
        return "it is not held"
    return f"it is now held by {current.holder} (run {current.run_id}) from {current.host}"


def _lease(conn: Connection, asset: str, lock: bool = False) -> Lease | None:
    query = select(LEASES).where(LEASES.c.asset == asset)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    return None if row is None else Lease.from_row(row)
