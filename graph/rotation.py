"""Who is on call for a rotation at a given instant: pure date arithmetic, no I/O, no clock.

Handoffs happen at a wall-clock time in the rotation's own time zone, so a weekly rotation that
hands off on Monday at 09:00 in Europe/Berlin does so at 09:00 local time on both sides of a
daylight-saving change (the period across the change is an hour shorter or longer in UTC). Periods
are therefore counted in local calendar days from the anchor date, never in fixed seconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from graph.records import Override, Rotation


def on_call(rotation: Rotation, at: datetime) -> tuple[str, datetime]:
    """(user ref on call at `at`, the UTC instant that changes next). A naive `at` is UTC.

    An override covering `at` wins over the schedule; when overrides overlap, the one that
    started last wins.
    """
    at = _utc(at)
    override = _active_override(rotation.overrides, at)
    if override is not None:
        later_starts = [
            o.start for o in rotation.overrides if at < _utc(o.start) < _utc(override.end)
        ]
        return override.user, min([_utc(override.end), *map(_utc, later_starts)])
    member, next_handoff = scheduled(rotation, at)
    upcoming = [_utc(o.start) for o in rotation.overrides if _utc(o.start) > at]
    return member, min([next_handoff, *upcoming])


def scheduled(rotation: Rotation, at: datetime) -> tuple[str, datetime]:
    """The member the schedule puts on call at `at` (ignoring overrides), and the next handoff."""
    at = _utc(at)
    zone = ZoneInfo(rotation.timezone)
    anchor = anchor_date(rotation)
    period = rotation.length_days
    index = (at.astimezone(zone).date() - anchor).days // period
    if at < handoff_at(rotation, index):
        index -= 1
    member = rotation.members[index % len(rotation.members)]
    return member, handoff_at(rotation, index + 1)


def anchor_date(rotation: Rotation) -> date:
    """The local date of the first handoff: `start`, moved forward to the handoff weekday."""
    start = date.fromisoformat(rotation.start)
    if rotation.handoff_weekday is None:
        return start
    return start + timedelta(days=(rotation.handoff_weekday - start.weekday()) % 7)


def handoff_at(rotation: Rotation, index: int) -> datetime:
    """The UTC instant at which period `index` (0 = the anchor's) begins."""
    day = anchor_date(rotation) + timedelta(days=index * rotation.length_days)
    local = datetime.combine(day, rotation.handoff_time, tzinfo=ZoneInfo(rotation.timezone))
    return local.astimezone(UTC)


def _active_override(overrides: tuple[Override, ...], at: datetime) -> Override | None:
    active = [o for o in overrides if _utc(o.start) <= at < _utc(o.end)]
    return max(active, key=lambda o: _utc(o.start)) if active else None


def _utc(value: datetime) -> datetime:
    """Compare instants in UTC: aware datetimes sharing a tzinfo compare by wall clock otherwise."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
