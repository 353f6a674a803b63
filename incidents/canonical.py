"""Canonical JSON, UTC time and the event hash: the exact bytes the timeline's chain is built on.

Everything here must stay byte-for-byte stable across versions, platforms and both databases,
because a hash written today is recomputed by `verify` years later. That is why `data` is stored
as the canonical text itself (never as a JSON/JSONB column a database may re-order or re-format)
and why times are rendered by one function with a fixed format.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Any

from incidents.errors import InvalidValue

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first event of every incident."""


def utc_now() -> datetime:
    """The current time, tz-aware UTC, at the microsecond resolution both databases keep."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A tz-aware UTC datetime; naive values are taken to be UTC already (that is how we store)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """`2026-11-27T14:20:16.123456Z`: always microseconds, always `Z`, whatever the input zone."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept as is; refuses NaN/Infinity, which JSON cannot carry."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def normalise_data(data: Mapping[str, Any] | None, what: str = "event data") -> dict[str, Any]:
    """A plain JSON dict equal to what will be read back, so the hash of the written and of the
    re-read event are the same. Datetimes become ISO strings, paths strings, tuples lists."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise InvalidValue(f"{what} must be a mapping, not {type(data).__name__}")
    try:
        text = canonical_json(dict(data))
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"{what} is not JSON: {exc}") from exc
    result: dict[str, Any] = json.loads(text)
    return result


def event_hash(
    *,
    incident_id: str,
    seq: int,
    at: datetime,
    actor: str,
    kind: str,
    message: str,
    data: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of every field of the event, the previous hash included.

    The field names are spelled out here rather than taken from a model so that adding a column
    to the events table can never silently change what old hashes covered.
    """
    payload = {
        "incident": incident_id,
        "seq": seq,
        "at": iso_utc(at),
        "actor": actor,
        "kind": kind,
        "message": message,
        "data": data,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
