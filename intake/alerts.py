"""Alertmanager's webhook (payload version 4) → `IncomingAlert`s on the right asset → the store.

Finding an alert's asset, in order:

1. its `asset` label: a catalog ref or a unique bare name;
2. the `[alerts]` rules of `oncall.toml`: label name → label value → asset, e.g.
   `[alerts.service] ingest = "nightly-etl"`, tried in the file's order;
3. an asset's `oncall/alert-selector` annotation (`service=ingest,env=prod`): every pair must
   match; the most specific selector wins, a tie between assets is reported as ambiguous.

An alert none of these place is still recorded, on an incident on no asset (`NO_ASSET`), and the
reason is reported in the response: an alert is never dropped.

`ingest_webhook` is the whole intake of one request: parse and check everything first (a bad
payload stores nothing), then record the batch in one transaction (`Store.record_alerts`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from graph.errors import GraphError
from incidents.alerts import ALERT_STATES, NO_ASSET, AlertOutcome, IncomingAlert
from incidents.canonical import iso_utc
from incidents.errors import InvalidValue
from incidents.lifecycle import normalise_severity
from intake.errors import BadPayload, IntakeConfigError
from intake.grouping import GroupWriter

if TYPE_CHECKING:
    from graph.model import Catalog
    from incidents.store import Store

PAYLOAD_VERSION = "4"
ACTOR = "alertmanager"
"""Who the timeline says recorded an alert."""

DEFAULT_SEVERITIES: dict[str, str] = {
    "critical": "SEV1",
    "page": "SEV1",
    "error": "SEV2",
    "high": "SEV2",
    "warning": "SEV3",
    "warn": "SEV3",
    "info": "SEV4",
    "none": "SEV4",
}
"""`severity` label → incident severity; `[alert_severities]` in oncall.toml adds or overrides."""

DEFAULT_SEVERITY = "SEV3"
"""For an alert with no `severity` label, or one no mapping knows."""

_FRACTION = re.compile(r"(\.\d{6})\d+")


# -- finding the asset ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an alert goes: `asset` (a canonical ref) and how it was found, or None and why not."""

    asset: str | None
    how: str


@dataclass(frozen=True, slots=True)
class Selector:
    """An asset's `oncall/alert-selector`: label pairs that must all match."""

    asset: str
    pairs: tuple[tuple[str, str], ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(name) == value for name, value in self.pairs)


def parse_selector(text: str) -> tuple[tuple[str, str], ...]:
    """`service=ingest, env=prod` → pairs; ValueError naming the bad part."""
    pairs: list[tuple[str, str]] = []
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip().strip("'\"")
        if not sep or not name or not value:
            raise ValueError(f"{part.strip()!r} is not label=value")
        pairs.append((name, value))
    return tuple(sorted(pairs))


class AssetMapper:
    """Places alerts on catalog assets (the three rules in the module's docstring).

    Built once per catalog: the `[alerts]` rules are resolved against the catalog here, so a rule
    naming no asset stops `oncall serve` at start-up (naming the key) instead of misplacing
    alerts at 3 AM. Look-ups are cached per label set: a storm repeats the same few.
    """

    def __init__(self, catalog: Catalog, rules: Mapping[str, Mapping[str, str]]) -> None:
        self.catalog = catalog
        self.rules: list[tuple[str, dict[str, str]]] = []
        for label, table in rules.items():
            resolved: dict[str, str] = {}
            for value, asset in table.items():
                try:
                    entity = catalog.resolve(asset)
                except GraphError as exc:
                    raise IntakeConfigError(f"oncall.toml: alerts.{label}.{value}: {exc}") from None
                if not entity.is_asset:
                    raise IntakeConfigError(
                        f"oncall.toml: alerts.{label}.{value}: {entity.ref} is a {entity.kind}, "
                        "not an asset"
                    )
                resolved[value] = entity.ref
            self.rules.append((label, resolved))
        self.selectors: list[Selector] = []
        self.problems: list[str] = []
        selectors = catalog.table.column("alert_selector")
        refs = catalog.table.refs
        for row, text in enumerate(selectors):
            if not text:
                continue
            try:
                self.selectors.append(Selector(refs[row], parse_selector(text)))
            except ValueError as exc:
                self.problems.append(f"{refs[row]}: oncall/alert-selector {text!r}: {exc}")
        # A placement reads only these labels: the cache is keyed on them alone, so alerts that
        # differ in others (`instance`, `pod`: a storm's alerts all do) share one entry.
        self.read_labels: tuple[str, ...] = tuple(
            sorted(
                {"asset"}
                | {label for label, _table in self.rules}
                | {name for selector in self.selectors for name, _value in selector.pairs}
            )
        )
        self._place = lru_cache(maxsize=4096)(self._place_uncached)

    def place(self, labels: Mapping[str, str]) -> Placement:
        return self._place(
            tuple((name, labels[name]) for name in self.read_labels if name in labels)
        )

    def _place_uncached(self, items: tuple[tuple[str, str], ...]) -> Placement:
        labels = dict(items)
        tried: list[str] = []
        named = labels.get("asset")
        if named:
            try:
                entity = self.catalog.resolve(named)
            except GraphError as exc:
                tried.append(f"asset label: {exc}")
            else:
                if entity.is_asset:
                    return Placement(entity.ref, f"asset label {named!r}")
                tried.append(f"asset label: {entity.ref} is a {entity.kind}, not an asset")
        for label, table in self.rules:
            value = labels.get(label)
            if value is not None and value in table:
                return Placement(table[value], f"oncall.toml alerts.{label}.{value}")
        matching = [s for s in self.selectors if s.matches(labels)]
        if matching:
            best = max(len(s.pairs) for s in matching)
            top = sorted({s.asset for s in matching if len(s.pairs) == best})
            if len(top) == 1:
                return Placement(top[0], f"oncall/alert-selector of {top[0]}")
            tried.append(f"oncall/alert-selector matches {', '.join(top)} equally")
        if not tried:
            tried.append("no asset label, no [alerts] rule and no oncall/alert-selector matches")
        return Placement(None, "; ".join(tried))


# -- the payload ----------------------------------------------------------------------------------


def parse_json(body: bytes) -> Any:
    """The body as JSON, or BadPayload with the parser's one-line reason."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadPayload(f"body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise BadPayload(
            f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def parse_time(value: Any, where: str) -> datetime:
    """An RFC 3339 time as Alertmanager writes it (nanoseconds allowed), tz-aware UTC."""
    if not isinstance(value, str) or not value:
        raise BadPayload(f"{where}: must be an RFC 3339 time string")
    parsed = _parse_rfc3339(value)
    if parsed is None:
        raise BadPayload(f"{where}: {value!r} is not an RFC 3339 time")
    if parsed.tzinfo is None:
        raise BadPayload(f"{where}: {value!r} has no time zone")
    return parsed


@lru_cache(maxsize=4096)
def _parse_rfc3339(value: str) -> datetime | None:
    """The parse itself, cached: a group's alerts share their times, and a storm repeats them
    (`0001-01-01T00:00:00Z`, Alertmanager's "no end", on every firing alert)."""
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise BadPayload(f"{where}: must be an object of strings")
    return value


def _text(value: Any, where: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadPayload(f"{where}: must be a string")
    return value


@dataclass(frozen=True, slots=True)
class Webhook:
    """A checked version-4 payload: the group's fields and its alerts, as sent."""

    receiver: str
    status: str
    group_key: str
    external_url: str
    alerts: list[dict[str, Any]]


def parse_webhook(payload: Any) -> Webhook:
    """Check a decoded payload against Alertmanager's webhook format, version 4; every problem
    is a BadPayload naming where it is (`alerts[2].labels`)."""
    if not isinstance(payload, dict):
        raise BadPayload("payload must be a JSON object")
    version = payload.get("version")
    if version != PAYLOAD_VERSION:
        raise BadPayload(
            f"unknown payload version {version!r}: oncall reads Alertmanager's webhook version "
            f"{PAYLOAD_VERSION}"
        )
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise BadPayload("alerts: must be a list")
    checked: list[dict[str, Any]] = []
    for i, alert in enumerate(alerts):
        where = f"alerts[{i}]"
        if not isinstance(alert, dict):
            raise BadPayload(f"{where}: must be an object")
        status = alert.get("status")
        if status not in ALERT_STATES:
            raise BadPayload(f"{where}.status: {status!r} is not firing or resolved")
        labels = _strings(alert.get("labels"), f"{where}.labels")
        if not labels.get("alertname"):
            raise BadPayload(f"{where}.labels: has no alertname")
        ends = alert.get("endsAt")
        checked.append(
            {
                "status": status,
                "labels": labels,
                "annotations": _strings(alert.get("annotations"), f"{where}.annotations"),
                "startsAt": parse_time(alert.get("startsAt"), f"{where}.startsAt"),
                "endsAt": parse_time(ends, f"{where}.endsAt") if ends else None,
                "generatorURL": _text(alert.get("generatorURL"), f"{where}.generatorURL"),
                "fingerprint": _fingerprint(alert.get("fingerprint"), labels, where),
            }
        )
    return Webhook(
        receiver=_text(payload.get("receiver"), "receiver"),
        status=_text(payload.get("status"), "status"),
        group_key=_text(payload.get("groupKey"), "groupKey"),
        external_url=_text(payload.get("externalURL"), "externalURL"),
        alerts=checked,
    )


def _fingerprint(value: Any, labels: Mapping[str, str], where: str) -> str:
    """Alertmanager's fingerprint; one derived from the labels when a sender leaves it out."""
    if value is None or value == "":
        canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
        return "labels:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
    if not isinstance(value, str) or len(value) > 64:
        raise BadPayload(f"{where}.fingerprint: must be a string of at most 64 characters")
    return value


# -- severities and wording -----------------------------------------------------------------------


def severity_map(overrides: Mapping[str, str]) -> dict[str, str]:
    """The defaults with `[alert_severities]` on top; a bad severity names its key."""
    mapping = dict(DEFAULT_SEVERITIES)
    for label, severity in overrides.items():
        try:
            mapping[label.lower()] = normalise_severity(severity)
        except InvalidValue as exc:
            raise IntakeConfigError(f"oncall.toml: alert_severities.{label}: {exc}") from None
    return mapping


def severity_for(labels: Mapping[str, str], mapping: Mapping[str, str]) -> str:
    value = (labels.get("severity") or "").strip().lower()
    if value in mapping:
        return mapping[value]
    try:
        return normalise_severity(value) if value else DEFAULT_SEVERITY
    except InvalidValue:
        return DEFAULT_SEVERITY


# -- the whole request ----------------------------------------------------------------------------


@dataclass
class IntakeResult:
    """What one webhook did, as the response reports it."""

    outcomes: list[AlertOutcome] = field(default_factory=list)
    unmapped: list[dict[str, Any]] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    @property
    def opened(self) -> list[str]:
        return sorted(
            {o.incident_id for o in self.outcomes if o.outcome == "opened" and o.incident_id}
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "received": len(self.outcomes),
            "recorded": len(self.outcomes) - self.count("duplicate"),
            "duplicates": self.count("duplicate"),
            "opened": self.opened,
            "unmapped": self.unmapped,
            "alerts": [o.to_json() for o in self.outcomes],
        }


class AlertIntake:
    """The alert side of `oncall serve`: one per process, shared by its requests."""

    def __init__(self, store: Store, mapper: AssetMapper, severities: Mapping[str, str]) -> None:
        self.store = store
        self.mapper = mapper
        self.severities = dict(severities)
        # One writer at a time per process, each writing every batch queued meanwhile in one
        # transaction (intake/grouping.py): SQLite lets one writer in at a time anyway, and
        # queueing on a lock is far cheaper than contending through its busy-timeout back-off.
        self._writer = GroupWriter(lambda alerts: store.record_alerts(alerts, actor=ACTOR))

    def incoming(self, hook: Webhook) -> tuple[list[IncomingAlert], list[dict[str, Any]]]:
        """The webhook's alerts placed on assets and worded; plus the ones placed on no asset."""
        alerts: list[IncomingAlert] = []
        unmapped: list[dict[str, Any]] = []
        mapper = self.mapper  # one catalog for the whole webhook, even if it is reloaded now
        for alert in hook.alerts:
            labels, annotations = alert["labels"], alert["annotations"]
            name = labels["alertname"]
            placement = mapper.place(labels)
            summary = (annotations.get("summary") or "").strip()
            title = summary or name
            if placement.asset is None:
                title = f"{title} (no asset found for this alert)"
                unmapped.append(
                    {
                        "fingerprint": alert["fingerprint"],
                        "alertname": name,
                        "reason": placement.how,
                    }
                )
            message = f"{alert['status']}: {name}" + (f": {summary}" if summary else "")
            data = {
                "alertname": name,
                "status": alert["status"],
                "fingerprint": alert["fingerprint"],
                "labels": labels,
                "annotations": annotations,
                # As the canonical text writes a time: the data stays plain JSON, which the
                # store copies in one walk instead of encoding and parsing it back.
                "starts_at": iso_utc(alert["startsAt"]),
                "ends_at": iso_utc(alert["endsAt"]) if alert["endsAt"] else None,
                "generator_url": alert["generatorURL"],
                "receiver": hook.receiver,
                "group_key": hook.group_key,
                "placed_by": placement.how if placement.asset else None,
                "unplaced_because": None if placement.asset else placement.how,
            }
            alerts.append(
                IncomingAlert(
                    fingerprint=alert["fingerprint"],
                    status=alert["status"],
                    starts_at=alert["startsAt"],
                    alertname=name,
                    asset=placement.asset,
                    title=title,
                    severity=severity_for(labels, self.severities),
                    message=message,
                    data=data,
                )
            )
        return alerts, unmapped

    def ingest(self, body: bytes) -> IntakeResult:
        """Parse, check, place and record one webhook body: all of it, or (on any error) none."""
        hook = parse_webhook(parse_json(body))
        alerts, unmapped = self.incoming(hook)
        outcomes = self._writer.write(alerts)
        unplaced = [o for a, o in zip(alerts, outcomes, strict=True) if a.asset is None]
        for entry, outcome in zip(unmapped, unplaced, strict=True):
            entry["incident"] = outcome.incident_id
            entry["outcome"] = outcome.outcome
        return IntakeResult(outcomes, unmapped)


__all__ = ["NO_ASSET", "AlertIntake", "AssetMapper", "IntakeResult", "parse_webhook"]
