"""TTD/TTA/TTM/TTR: measured between recorded moments, and a missing moment is said, not guessed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postmortems.metrics import (
    AlertFact,
    compute_metrics,
    find_moments,
    format_duration,
    impact_duration,
)

T0 = datetime(2024, 5, 4, 3, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def by_key(metrics: tuple) -> dict:
    return {m.key: m for m in metrics}


def test_every_metric_is_measured_from_detection_and_the_start_comes_from_the_alert() -> None:
    alerts = [AlertFact(minutes(1), {"started_at": "2024-05-04T01:00:00Z"})]
    moments = find_moments(T0, minutes(10), minutes(70), minutes(190), alerts)
    m = by_key(compute_metrics(moments))
    assert m["ttd"].seconds == 2 * 3600
    assert m["tta"].seconds == 10 * 60
    assert m["ttm"].seconds == 70 * 60
    assert m["ttr"].seconds == 190 * 60
    assert all(metric.note is None for metric in m.values())


def test_without_a_reported_start_ttd_is_unknown_and_says_why() -> None:
    moments = find_moments(T0, minutes(5), None, None, [AlertFact(minutes(1), {"check": "rows"})])
    m = by_key(compute_metrics(moments))
    assert m["ttd"].seconds is None
    assert "started_at" in (m["ttd"].note or "")
    assert m["tta"].seconds == 300


def test_an_incident_never_acknowledged_or_resolved_has_those_metrics_missing() -> None:
    moments = find_moments(T0, None, None, None, [])
    m = by_key(compute_metrics(moments))
    assert [m[k].seconds for k in ("ttd", "tta", "ttm", "ttr")] == [None, None, None, None]
    assert "never acknowledged" in (m["tta"].note or "")
    assert "not been marked mitigated" in (m["ttm"].note or "")
    assert "not been resolved" in (m["ttr"].note or "")
    assert moments.detected_basis == "incident opened"


def test_an_alert_that_fired_before_the_incident_was_opened_is_the_detection() -> None:
    alerts = [AlertFact(minutes(2), {"fired_at": "2024-05-04T02:50:00+00:00"})]
    moments = find_moments(T0, minutes(10), None, None, alerts)
    assert moments.detected_at == T0 - timedelta(minutes=10)
    assert by_key(compute_metrics(moments))["tta"].seconds == 20 * 60


def test_an_unreadable_start_time_is_ignored_and_reported() -> None:
    moments = find_moments(T0, None, None, None, [AlertFact(minutes(1), {"started_at": "soon"})])
    assert moments.began_at is None
    assert len(moments.problems) == 1 and "'soon'" in moments.problems[0]


def test_a_naive_start_time_is_taken_as_utc() -> None:
    moments = find_moments(
        T0, None, None, None, [AlertFact(T0, {"started_at": "2024-05-04T02:00"})]
    )
    assert moments.began_at == T0 - timedelta(hours=1)


def test_a_status_time_before_detection_is_kept_and_flagged_as_clock_skew() -> None:
    alerts = [AlertFact(minutes(1), {"started_at": "2024-05-04T04:00:00Z"})]
    ttd = by_key(compute_metrics(find_moments(T0, None, None, None, alerts)))["ttd"]
    assert ttd.seconds == -3600
    assert "clock skew" in (ttd.note or "")


def test_impact_lasts_from_the_start_until_mitigation_and_an_open_one_says_so() -> None:
    alerts = [AlertFact(T0, {"started_at": "2024-05-04T02:00:00Z"})]
    done = impact_duration(find_moments(T0, None, minutes(30), minutes(90), alerts), minutes(600))
    assert (done.seconds, done.start_basis, done.end_basis) == (5400, "began", "mitigated")
    ongoing = impact_duration(find_moments(T0, None, None, None, []), minutes(45))
    assert ongoing.seconds is None
    assert "ongoing" in (ongoing.note or "") and "45m" in (ongoing.note or "")


def test_durations_read_as_two_units_at_most() -> None:
    assert format_duration(None) == "unknown"
    assert format_duration(0) == "0s"
    assert format_duration(0.25) == "0.2s"
    assert format_duration(42) == "42s"
    assert format_duration(3 * 60 + 12) == "3m 12s"
    assert format_duration(2 * 86400 + 3 * 3600 + 59) == "2d 3h"
    assert format_duration(3600) == "1h"
    assert format_duration(-90) == "-1m 30s"
