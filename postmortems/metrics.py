"""Time to detect, acknowledge, mitigate and resolve, from the recorded moments of an incident.

The definitions, stated once so the numbers can be trusted and argued with:

- **began**: when the problem started, as reported by whoever raised the alert: the earliest
  `started_at` or `since` in the data of an `alert` event (e.g. the start of the first bad
  load). Unknown otherwise: the draft never guesses it.
- **detected**: the first moment anyone or anything knew: the earliest of the incident being
  opened, an `alert` event, and the `fired_at` an alert's data reports (the monitoring system
  may have fired before the alert reached the timeline, which never precedes the opening).
- **TTD** = detected - began; **TTA** = acknowledged - detected; **TTM** = mitigated - detected;
  **TTR** = resolved - detected. The status times come from the incident row.

A metric whose end or start is unknown has `seconds=None` and a note saying which moment is
missing; a metric whose end precedes its start (clock skew between machines) is kept as
measured and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from postmortems.model import Metric, Span

BEGAN_KEYS = ("started_at", "since")
FIRED_KEY = "fired_at"


@dataclass(frozen=True, slots=True)
class AlertFact:
    """What metrics need of one `alert` event: when it was recorded and its data."""

    at: datetime
    data: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class Moments:
    """The instants the metrics are measured between, each with where it came from."""

    began_at: datetime | None
    began_basis: str
    detected_at: datetime
    detected_basis: str
    opened_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    problems: tuple[str, ...] = ()


def as_utc(value: datetime) -> datetime:
    """Stores hand back aware datetimes, but SQLite can lose the zone: naive means UTC here."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _parse_time(raw: Any) -> datetime | None:
    if isinstance(raw, datetime):
        return as_utc(raw)
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        return as_utc(datetime.fromisoformat(raw.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def _reported_time(
    data: Mapping[str, Any], key: str, alert: AlertFact, problems: list[str]
) -> datetime | None:
    if key not in data:
        return None
    parsed = _parse_time(data[key])
    if parsed is None:
        problems.append(
            f"alert at {as_utc(alert.at):%Y-%m-%d %H:%M:%S} UTC: {key}={data[key]!r} is not an "
            "ISO-8601 time; ignored"
        )
    return parsed


def find_moments(
    opened_at: datetime,
    acknowledged_at: datetime | None,
    mitigated_at: datetime | None,
    resolved_at: datetime | None,
    alerts: Iterable[AlertFact],
) -> Moments:
    """Collect the instants from the incident's status times and its alert events."""
    opened = as_utc(opened_at)
    alert_list = sorted(alerts, key=lambda a: as_utc(a.at))
    problems: list[str] = []
    began_at: datetime | None = None
    began_basis = "unknown: no alert event records when the problem started"
    detected_at, detected_basis = opened, "incident opened"
    for alert in alert_list:
        data = alert.data or {}
        for key in BEGAN_KEYS:
            began = _reported_time(data, key, alert, problems)
            if began is not None and (began_at is None or began < began_at):
                began_at, began_basis = began, f"{key} of an alert"
        fired = _reported_time(data, FIRED_KEY, alert, problems)
        if fired is not None and fired < detected_at:
            detected_at, detected_basis = fired, f"{FIRED_KEY} of an alert"
        if as_utc(alert.at) < detected_at:
            detected_at, detected_basis = as_utc(alert.at), "first alert"
    return Moments(
        began_at=began_at,
        began_basis=began_basis,
        detected_at=detected_at,
        detected_basis=detected_basis,
        opened_at=opened,
        acknowledged_at=as_utc(acknowledged_at) if acknowledged_at else None,
        mitigated_at=as_utc(mitigated_at) if mitigated_at else None,
        resolved_at=as_utc(resolved_at) if resolved_at else None,
        problems=tuple(problems),
    )


def _metric(
    key: Literal["ttd", "tta", "ttm", "ttr"],
    name: str,
    start: datetime | None,
    start_basis: str,
    end: datetime | None,
    end_basis: str,
    missing_start: str,
    missing_end: str,
) -> Metric:
    if start is None or end is None:
        note = missing_start if start is None else missing_end
        return Metric(key, name, None, start, end, start_basis, end_basis, note)
    seconds = (end - start).total_seconds()
    note = f"{end_basis} precedes {start_basis}: clock skew?" if seconds < 0 else None
    return Metric(key, name, seconds, start, end, start_basis, end_basis, note)


def compute_metrics(moments: Moments) -> tuple[Metric, ...]:
    """TTD, TTA, TTM, TTR in that order; a missing one carries the reason instead of a number."""
    m = moments
    detected = f"detected ({m.detected_basis})"
    return (
        _metric(
            "ttd",
            "Time to detect",
            m.began_at,
            f"began ({m.began_basis})",
            m.detected_at,
            detected,
            "unknown: no alert recorded when the problem started (started_at or since in its data)",
            "",
        ),
        _metric(
            "tta",
            "Time to acknowledge",
            m.detected_at,
            detected,
            m.acknowledged_at,
            "acknowledged",
            "",
            "unknown: the incident was never acknowledged",
        ),
        _metric(
            "ttm",
            "Time to mitigate",
            m.detected_at,
            detected,
            m.mitigated_at,
            "mitigated",
            "",
            "unknown: the incident has not been marked mitigated",
        ),
        _metric(
            "ttr",
            "Time to resolve",
            m.detected_at,
            detected,
            m.resolved_at,
            "resolved",
            "",
            "unknown: the incident has not been resolved",
        ),
    )


def impact_duration(moments: Moments, now: datetime) -> Span:
    """How long the impact lasted: from began (else detected) to mitigated (else resolved)."""
    m = moments
    if m.began_at is not None:
        start, start_basis = m.began_at, "began"
    else:
        start, start_basis = m.detected_at, f"detected ({m.detected_basis})"
    if m.mitigated_at is not None:
        end, end_basis = m.mitigated_at, "mitigated"
    elif m.resolved_at is not None:
        end, end_basis = m.resolved_at, "resolved"
    else:
        so_far = format_duration((as_utc(now) - start).total_seconds())
        return Span(
            start,
            None,
            None,
            start_basis,
            "not yet",
            f"ongoing: not mitigated or resolved yet ({so_far} so far when this draft was made)",
        )
    seconds = (end - start).total_seconds()
    note = f"{end_basis} precedes {start_basis}: clock skew?" if seconds < 0 else None
    return Span(start, end, seconds, start_basis, end_basis, note)


def format_duration(seconds: float | None) -> str:
    """`2d 3h`, `3h 4m`, `4m 12s`, `12s`, `0.4s`: two units at most, for a reader, not a parser."""
    if seconds is None:
        return "unknown"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 1:
        return f"{sign}{s:.1f}s" if s else "0s"
    whole = round(s)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while parts and parts[0][0] == 0:
        parts.pop(0)
    shown = [f"{n}{u}" for n, u in parts[:2] if n]
    return sign + " ".join(shown)
