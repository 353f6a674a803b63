"""The plain records a catalog is made of: entities, problems and rotations.

Slotted dataclasses with no behaviour beyond small conveniences, so they are cheap to create from
the cache's columns and compare by value in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Literal

Severity = Literal["error", "warning"]

# Kinds that are about people and bookkeeping rather than things that can break.
NON_ASSET_KINDS: frozenset[str] = frozenset({"group", "user", "rotation", "location"})


@dataclass(slots=True)
class Entity:
    """One catalog node. `ref` is canonical; `name`/`namespace` keep the spelling of the source."""

    ref: str
    kind: str
    namespace: str
    name: str
    title: str | None = None
    description: str | None = None
    type: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    file: str = ""
    line: int = 0
    system: str | None = None
    lifecycle: str | None = None
    # users
    email: str | None = None
    display_name: str | None = None
    member_of: tuple[str, ...] = ()
    # groups
    members: tuple[str, ...] = ()
    parent: str | None = None
    children: tuple[str, ...] = ()
    # `metadata.annotations["oncall/alert-selector"]`: the alert labels (`service=ingest,env=prod`)
    # that `oncall serve` maps to this asset when nothing more direct names one
    alert_selector: str | None = None
    # what oncall does not read itself: custom spec fields (the modelled ones are fields above)
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What a person reads: the display name or title, else the name."""
        return self.display_name or self.title or self.name

    @property
    def is_asset(self) -> bool:
        return self.kind not in NON_ASSET_KINDS


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the inputs. Errors make `graph check` fail; warnings do not."""

    severity: Severity
    file: str
    line: int | None
    entity: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = f" {self.entity}:" if self.entity else ""
        return f"{where}: {self.severity}:{what} {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "entity": self.entity,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Override:
    """Someone covers a rotation between two instants (tz-aware, `start` inclusive)."""

    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Who is called next, and how long after the page when nobody acknowledged."""

    ref: str
    delay_minutes: int


@dataclass(frozen=True, slots=True)
class Rotation:
    """An on-call rotation (`apiVersion: oncall/v1`, `kind: Rotation`), validated and canonical.

    `members` take turns, one per `length_days`, changing at `handoff_time` local time in
    `timezone`; the first period starts at the first handoff on or after `start` (a local date,
    moved to `handoff_weekday` when one is given).
    """

    ref: str
    owner: str | None
    timezone: str
    handoff_weekday: int | None  # Monday = 0
    handoff_time: time
    length_days: int
    start: str  # ISO date, local to `timezone`
    members: tuple[str, ...]
    overrides: tuple[Override, ...] = ()
    escalation: tuple[EscalationStep, ...] = ()
