"""Pydantic schemas of what the catalog reads: Backstage descriptors, Rotations, OpenLineage events.

Only the fields oncall uses are typed; unknown fields are kept (`extra="allow"`) because real
Backstage catalogs carry plenty we do not need (links, annotations, API definitions). Rotation is
our own format, so there an unknown field is an error: a typo must not silently do nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LENGTH_PATTERN = re.compile(r"([1-9][0-9]*)([dw])")
DELAY_PATTERN = re.compile(r"([0-9]+)([mh])")
TIME_PATTERN = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- Backstage ------------------------------------------------------------------------------------


class Profile(_Open):
    displayName: str | None = None
    email: str | None = None


class Metadata(_Open):
    name: str
    namespace: str = "default"
    title: str | None = None
    description: str | None = None
    tags: list[Any] = Field(default_factory=list)


class Spec(_Open):
    """The union of the spec fields of the Backstage kinds oncall reads."""

    type: str | None = None
    lifecycle: str | None = None
    owner: str | None = None
    system: str | None = None
    domain: str | None = None
    parent: str | None = None
    subcomponentOf: str | None = None
    subdomainOf: str | None = None
    dependsOn: list[str] = Field(default_factory=list)
    dependencyOf: list[str] = Field(default_factory=list)
    providesApis: list[str] = Field(default_factory=list)
    consumesApis: list[str] = Field(default_factory=list)
    children: list[str] = Field(default_factory=list)
    members: list[str] = Field(default_factory=list)
    memberOf: list[str] = Field(default_factory=list)
    profile: Profile | None = None
    target: str | None = None
    targets: list[str] = Field(default_factory=list)


class Descriptor(_Open):
    apiVersion: str
    kind: str
    metadata: Metadata
    spec: Spec = Field(default_factory=Spec)

    @field_validator("spec", mode="before")
    @classmethod
    def _empty_spec(cls, value: Any) -> Any:
        return {} if value is None else value  # `spec:` with nothing under it


# -- oncall/v1 Rotation ---------------------------------------------------------------------------


class HandoffSpec(_Closed):
    weekday: str | None = None
    time: str = "09:00"

    @field_validator("weekday")
    @classmethod
    def _weekday(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.lower() not in WEEKDAYS:
            raise ValueError(f"weekday must be one of {', '.join(WEEKDAYS)}")
        return value.lower()

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 9:00 as the sexagesimal integer 540 (minutes): undo that.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return f"{value // 60:02d}:{value % 60:02d}"
        if isinstance(value, str) and not TIME_PATTERN.fullmatch(value):
            raise ValueError("time must be HH:MM (24-hour clock)")
        return value


class OverrideSpec(_Closed):
    user: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")


class EscalationSpec(_Closed):
    ref: str
    delay: str = "0m"

    @field_validator("delay", mode="before")
    @classmethod
    def _delay(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value}m"
        if isinstance(value, str) and not DELAY_PATTERN.fullmatch(value):
            raise ValueError("delay must be minutes or hours, like 15m or 1h")
        return value


class RotationSpec(_Closed):
    owner: str
    timezone: str
    handoff: HandoffSpec = Field(default_factory=HandoffSpec)
    length: str = "1w"
    start: date | None = None
    members: list[str] = Field(min_length=1)
    overrides: list[OverrideSpec] = Field(default_factory=list)
    escalation: list[EscalationSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)"
            ) from None
        return value

    @field_validator("length")
    @classmethod
    def _length(cls, value: str) -> str:
        if not LENGTH_PATTERN.fullmatch(value):
            raise ValueError("length must be days or weeks, like 1d or 1w")
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> Any:
        return value.date() if isinstance(value, datetime) else value


class RotationDescriptor(_Closed):
    apiVersion: str
    kind: str
    metadata: Metadata
    spec: RotationSpec


# -- OpenLineage ----------------------------------------------------------------------------------


class LineageDataset(_Open):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: dict[str, Any] = Field(default_factory=dict)


class LineageJob(_Open):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: dict[str, Any] = Field(default_factory=dict)


class LineageRun(_Open):
    runId: str | None = None
    facets: dict[str, Any] = Field(default_factory=dict)


class RunEvent(_Open):
    eventType: str | None = None
    eventTime: str | None = None
    run: LineageRun = Field(default_factory=LineageRun)
    job: LineageJob
    inputs: list[LineageDataset] = Field(default_factory=list)
    outputs: list[LineageDataset] = Field(default_factory=list)


def length_days(length: str) -> int:
    """`1w` → 7, `3d` → 3 (the value was validated by RotationSpec)."""
    match = LENGTH_PATTERN.fullmatch(length)
    assert match is not None
    count, unit = int(match.group(1)), match.group(2)
    return count * 7 if unit == "w" else count


def delay_minutes(delay: str) -> int:
    match = DELAY_PATTERN.fullmatch(delay)
    assert match is not None
    count, unit = int(match.group(1)), match.group(2)
    return count * 60 if unit == "h" else count


def error_locations(exc: ValidationError) -> list[tuple[tuple[str | int, ...], str]]:
    """Each validation error as (path into the document, readable message)."""
    found = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "required field is missing"
        message = message.removeprefix("Value error, ")
        found.append((loc, message))
    return found
