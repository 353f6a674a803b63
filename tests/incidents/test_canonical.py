from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from incidents.canonical import GENESIS_HASH, canonical_json, event_hash, iso_utc, normalise_data
from incidents.errors import InvalidValue


def test_canonical_json_sorts_keys_and_drops_spaces() -> None:
    assert (
        canonical_json({"b": 1, "a": [1, {"d": 2, "c": "é"}]}) == '{"a":[1,{"c":"é","d":2}],"b":1}'
    )


def test_times_are_rendered_in_utc_with_microseconds_whatever_their_zone() -> None:
    paris = timezone(timedelta(hours=1))
    assert iso_utc(datetime(2026, 11, 27, 4, 0, tzinfo=paris)) == "2026-11-27T03:00:00.000000Z"


def test_event_data_is_normalised_to_what_reading_it_back_gives() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert normalise_data({"at": when, "path": Path("/x"), "ids": (1, 2)}) == {
        "at": "2026-01-02T03:04:05.000006Z",
        "path": "/x",
        "ids": [1, 2],
    }


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": object()}, ["not", "a", "dict"]])
def test_data_that_json_cannot_carry_is_refused(bad: object) -> None:
    with pytest.raises(InvalidValue):
        normalise_data(bad)  # type: ignore[arg-type]


def test_the_hash_covers_every_field_including_the_incident_and_the_previous_hash() -> None:
    fields = {
        "incident_id": "INC-1",
        "seq": 1,
        "at": datetime(2026, 11, 27, tzinfo=UTC),
        "actor": "alice",
        "kind": "note",
        "message": "hello",
        "data": {"a": 1},
        "prev_hash": GENESIS_HASH,
    }
    original = event_hash(**fields)
    changes = {
        "incident_id": "INC-2",
        "seq": 2,
        "at": datetime(2026, 11, 27, 0, 0, 0, 1, tzinfo=UTC),
        "actor": "bob",
        "kind": "page",
        "message": "hello!",
        "data": {"a": 2},
        "prev_hash": "f" * 64,
    }
    for name, value in changes.items():
        assert event_hash(**{**fields, name: value}) != original, name
    assert len(original) == 64
