"""Rotation maths: handoffs in local time, overrides, and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from graph.loader import load_catalog
from graph.model import Override, Rotation
from graph.rotation import anchor_date, on_call

BERLIN = ZoneInfo("Europe/Berlin")


def weekly(**changes: object) -> Rotation:
    fields: dict = {
        "ref": "rotation:default/r",
        "owner": "group:default/team",
        "timezone": "Europe/Berlin",
        "handoff_weekday": 0,
        "handoff_time": time(9, 0),
        "length_days": 7,
        "start": "2024-01-01",
        "members": ("user:default/a", "user:default/b", "user:default/c"),
    }
    fields.update(changes)
    return Rotation(**fields)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_first_member_starts_at_the_first_handoff() -> None:
    rotation = weekly()
    assert on_call(rotation, berlin(2024, 1, 1, 9, 0)) == ("user:default/a", utc(2024, 1, 8, 8))


def test_before_the_first_handoff_the_last_member_is_still_on() -> None:
    assert on_call(weekly(), berlin(2024, 1, 1, 8, 59))[0] == "user:default/c"


def test_the_handoff_happens_at_the_local_time_exactly() -> None:
    rotation = weekly()
    assert on_call(rotation, berlin(2024, 1, 8, 8, 59, 59))[0] == "user:default/a"
    assert on_call(rotation, berlin(2024, 1, 8, 9, 0))[0] == "user:default/b"
    assert on_call(rotation, berlin(2024, 1, 22, 9, 0))[0] == "user:default/a"


def test_across_spring_forward_the_handoff_stays_at_nine_local() -> None:
    # Berlin moves from UTC+1 to UTC+2 on Sunday 2024-03-31: Monday 09:00 is 07:00 UTC after it.
    rotation = weekly()
    user, until = on_call(rotation, utc(2024, 3, 27, 12))
    assert until == utc(2024, 4, 1, 7)
    assert on_call(rotation, utc(2024, 4, 1, 6, 59))[0] == user
    assert on_call(rotation, utc(2024, 4, 1, 7, 0))[0] != user
    assert on_call(rotation, utc(2024, 3, 25, 8, 0))[0] == user  # the start was 09:00 UTC+1


def test_across_fall_back_the_handoff_stays_at_nine_local() -> None:
    rotation = weekly()
    user, until = on_call(rotation, utc(2024, 10, 23, 12))
    assert until == utc(2024, 10, 28, 8)
    assert on_call(rotation, utc(2024, 10, 21, 7, 0))[0] == user  # the start was 09:00 UTC+2
    assert on_call(rotation, utc(2024, 10, 21, 6, 59))[0] != user


def test_an_override_wins_and_ends_when_it_says() -> None:
    cover = Override("user:default/d", utc(2024, 1, 3, 12), utc(2024, 1, 4, 12))
    rotation = weekly(overrides=(cover,))
    assert on_call(rotation, utc(2024, 1, 3, 13)) == ("user:default/d", utc(2024, 1, 4, 12))
    assert on_call(rotation, utc(2024, 1, 4, 12))[0] == "user:default/a"


def test_the_next_change_before_an_override_is_the_override_start() -> None:
    cover = Override("user:default/d", utc(2024, 1, 3, 12), utc(2024, 1, 4, 12))
    rotation = weekly(overrides=(cover,))
    assert on_call(rotation, utc(2024, 1, 3, 11)) == ("user:default/a", utc(2024, 1, 3, 12))


def test_of_overlapping_overrides_the_later_one_wins_until_it_ends() -> None:
    first = Override("user:default/d", utc(2024, 1, 3), utc(2024, 1, 6))
    second = Override("user:default/e", utc(2024, 1, 4), utc(2024, 1, 5))
    rotation = weekly(overrides=(first, second))
    assert on_call(rotation, utc(2024, 1, 3, 12)) == ("user:default/d", utc(2024, 1, 4))
    assert on_call(rotation, utc(2024, 1, 4, 12)) == ("user:default/e", utc(2024, 1, 5))
    assert on_call(rotation, utc(2024, 1, 5, 12)) == ("user:default/d", utc(2024, 1, 6))


def test_a_daily_rotation_without_a_weekday_hands_off_every_day() -> None:
    rotation = weekly(
        timezone="Europe/London", handoff_weekday=None, handoff_time=time(8), length_days=1
    )
    assert on_call(rotation, utc(2024, 1, 1, 8)) == ("user:default/a", utc(2024, 1, 2, 8))
    assert on_call(rotation, utc(2024, 7, 1, 6, 30))[1] == utc(2024, 7, 1, 7)  # 08:00 BST


def test_the_anchor_moves_forward_to_the_handoff_weekday() -> None:
    assert anchor_date(weekly(handoff_weekday=2)).isoformat() == "2024-01-03"


def test_a_naive_time_is_taken_as_utc() -> None:
    rotation = weekly()
    assert on_call(rotation, datetime(2024, 1, 10, 12)) == on_call(rotation, utc(2024, 1, 10, 12))


@given(
    at=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"]),
    length=st.sampled_from([1, 7, 14]),
)
def test_the_person_on_call_holds_until_the_reported_instant_and_not_after(
    at: datetime, zone: str, length: int
) -> None:
    rotation = weekly(timezone=zone, length_days=length)
    at = at.replace(tzinfo=UTC)
    user, until = on_call(rotation, at)
    assert until > at
    assert until - at <= timedelta(days=length, hours=2)
    assert on_call(rotation, until - timedelta(microseconds=1))[0] == user
    assert on_call(rotation, until)[0] != user


def test_a_rotation_from_yaml_reads_handoff_overrides_and_escalation(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team}
spec: {type: team, children: [], members: [a, b]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: boss}
spec: {memberOf: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: a}
spec: {memberOf: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: b}
spec: {memberOf: []}
---
apiVersion: oncall/v1
kind: Rotation
metadata: {name: team-oncall}
spec:
  owner: team
  timezone: Europe/Berlin
  handoff: {weekday: Monday, time: 9:30}
  length: 2w
  members: [a, b]
  overrides:
    - {user: b, from: 2024-02-01 00:00, to: 2024-02-02 00:00}
  escalation:
    - {ref: boss, delay: 1h}
    - {ref: "group:team", delay: 90}
"""
    )
    catalog = load_catalog([tmp_path])
    assert catalog.problems == []
    rotation = catalog.rotations["rotation:default/team-oncall"]
    assert rotation.handoff_time == time(9, 30)  # unquoted 9:30 is YAML's sexagesimal 570
    assert rotation.length_days == 14
    assert rotation.members == ("user:default/a", "user:default/b")
    (cover,) = rotation.overrides
    assert cover.start == berlin(2024, 2, 1)  # a time without offset is the rotation's local time
    assert [(s.ref, s.delay_minutes) for s in rotation.escalation] == [
        ("user:default/boss", 60),
        ("group:default/team", 90),
    ]
    assert catalog.rotations_by_owner["group:default/team"] == ["rotation:default/team-oncall"]
