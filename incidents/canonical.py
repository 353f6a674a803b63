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
from dataclasses import dataclass
from datetime import UTC, date, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
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
    if value.tzinfo is UTC:  # the clock's own times: nothing to convert
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """`2026-11-27T14:20:16.123456Z`: always microseconds, always `Z`, whatever the input zone."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_utc_fast(value: datetime) -> str:
    """`iso_utc`, by `isoformat` where that gives the same text (years 1000-9999; `strftime`
    pads smaller years differently on some platforms): a quarter of the cost."""
    utc = value.astimezone(UTC) if value.tzinfo is not None else value
    if utc.year < 1000:
        return iso_utc(value)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def utc_texts(value: datetime) -> tuple[str, str]:
    """The two texts an append writes for one time, from one `isoformat` call: `iso_utc`'s (what
    the hash covers) and SQLite's stored form (`2026-11-27 14:20:16.123456`, naive UTC, as
    SQLAlchemy's DATETIME writes it). Years before 1000 take the slow, exact way."""
    utc = value.astimezone(UTC) if value.tzinfo is not None else value
    if utc.year < 1000:
        return iso_utc(value), sqlite_time(utc)
    iso = utc.isoformat(timespec="microseconds")  # 2026-11-27T14:20:16.123456[+00:00]
    return iso[:26] + "Z", iso[:10] + " " + iso[11:26]


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DATETIME writes for a UTC time (naive, always microseconds),
    so rows written by the append path read back through the models exactly like the others."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


_CANONICAL = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_json_default,
)
"""What `json.dumps` with these options builds on every call; built once (it is stateless), as
making it was half the cost of encoding an event's data."""


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept as is; refuses NaN/Infinity, which JSON cannot carry."""
    return _CANONICAL.encode(value)


def normalise_data(data: Mapping[str, Any] | None, what: str = "event data") -> dict[str, Any]:
    """A plain JSON dict equal to what will be read back, so the hash of the written and of the
    re-read event are the same. Datetimes become ISO strings, paths strings, tuples lists."""
    return normalise_data_text(data, what)[0]


def normalise_data_text(
    data: Mapping[str, Any] | None, what: str = "event data"
) -> tuple[dict[str, Any], str]:
    """`normalise_data` and the canonical text of the result (what is stored and hashed).

    The text is taken from the normalised dict, not from the caller's mapping: non-string keys
    sort differently once they are strings (`{10: …, 9: …}`), so only the re-read form is
    canonical.
    """
    if data is None:
        return {}, "{}"
    if type(data) is dict:  # the usual event data: one walk copies it as it reads back
        copied = _plain_copy(data)
        if copied is not _NOT_PLAIN:
            try:
                return copied, canonical_json(copied)
            except ValueError as exc:  # NaN or Infinity
                raise InvalidValue(f"{what} is not JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise InvalidValue(f"{what} must be a mapping, not {type(data).__name__}")
    try:
        text = canonical_json(dict(data))
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"{what} is not JSON: {exc}") from exc
    result: dict[str, Any] = json.loads(text)
    if _plain(data):  # already what it reads back as: its text is the canonical one
        return result, text
    return result, canonical_json(result)


_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)
_NOT_PLAIN = object()


def _plain_copy(value: Any) -> Any:
    """A copy of `value` equal to `json.loads(canonical_json(value))` (dict keys in sorted
    order, as the stored text has them), or `_NOT_PLAIN` when it holds anything but string
    keys, lists and JSON scalars (those take the encode-and-parse way). Half the cost of
    parsing the text back, on every append; scalars are copied without a call."""
    kind = type(value)
    if kind is dict:
        try:
            keys = sorted(value)
        except TypeError:  # keys of several types: not plain
            return _NOT_PLAIN
        copied = {}
        for key in keys:
            if type(key) is not str:
                return _NOT_PLAIN
            item = value[key]
            if type(item) not in _SCALAR_TYPES:
                item = _plain_copy(item)
                if item is _NOT_PLAIN:
                    return _NOT_PLAIN
            copied[key] = item
        return copied
    if kind is list:
        items = []
        for item in value:
            if type(item) not in _SCALAR_TYPES:
                item = _plain_copy(item)
                if item is _NOT_PLAIN:
                    return _NOT_PLAIN
            items.append(item)
        return items
    return value if kind in _SCALAR_TYPES else _NOT_PLAIN


def _plain(value: Any) -> bool:
    """Only string keys, lists and JSON scalars all the way down (the usual event data)."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if kind is list:
        return all(_plain(v) for v in value)
    return kind in _SCALARS


@dataclass(frozen=True, slots=True)
class Origin:
    """Who was at the keyboard when an event was written: the OS user, the host, and whether
    they acted as someone else (`--as` in a workspace that allows impersonation)."""

    os_user: str
    host: str
    impersonated: bool = False


def this_origin(impersonated: bool = False) -> Origin:
    """This process's OS user and host (`$ONCALL_HOST` names the host when set)."""
    import getpass
    import os
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry (containers): the uid
        user = f"uid-{os.getuid()}"
    host = os.environ.get("ONCALL_HOST", "").strip() or socket.gethostname()
    return Origin(user, host, impersonated)


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
    origin: Origin | None = None,
) -> str:
    """SHA-256 (hex) of the canonical JSON of every field of the event, the previous hash included.

    The field names are spelled out here rather than taken from a model so that adding a column
    to the events table can never silently change what old hashes covered. An event with an
    `origin` (every event since the OS user and host were recorded) also covers `os_user`,
    `host` and `impersonated`; one without hashes exactly as before.
    """
    payload: dict[str, Any] = {
        "incident": incident_id,
        "seq": seq,
        "at": iso_utc(at),
        "actor": actor,
        "kind": kind,
        "message": message,
        "data": data,
        "prev_hash": prev_hash,
    }
    if origin is not None:
        payload.update(
            os_user=origin.os_user, host=origin.host, impersonated=bool(origin.impersonated)
        )
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


_text = encode_basestring
"""A JSON string literal exactly as `canonical_json` writes one: the function its encoder calls
for every string when `ensure_ascii` is off."""


def chain_hash(
    *,
    incident_id: str,
    seq: int,
    at: datetime,
    actor: str,
    kind: str,
    message: str,
    data_text: str,
    prev_hash: str,
    origin: Origin | None = None,
    at_text: str | None = None,
) -> str:
    """`event_hash` for data already in canonical text (`canonical_json(data)`), without
    re-encoding the whole event: the payload's keys are written in their sorted order around
    the data text, which gives byte for byte the same JSON (tests/incidents/test_canonical.py
    checks the two against each other), at a third of the cost on the append path. `at_text`,
    when given, is `iso_utc(at)` already rendered (`utc_texts`).
    """
    stamp = at_text if at_text is not None else iso_utc_fast(at)
    if origin is None:
        payload = (
            f'{{"actor":{_text(actor)},"at":"{stamp}","data":{data_text},'
            f'"incident":{_text(incident_id)},"kind":{_text(kind)},"message":{_text(message)},'
            f'"prev_hash":{_text(prev_hash)},"seq":{int(seq)}}}'
        )
    else:
        impersonated = "true" if origin.impersonated else "false"
        payload = (
            f'{{"actor":{_text(actor)},"at":"{stamp}","data":{data_text},'
            f'"host":{_text(origin.host)},"impersonated":{impersonated},'
            f'"incident":{_text(incident_id)},"kind":{_text(kind)},"message":{_text(message)},'
            f'"os_user":{_text(origin.os_user)},"prev_hash":{_text(prev_hash)},'
            f'"seq":{int(seq)}}}'
        )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
