"""The loaded catalog: entities, data-flow edges, rotations and the problems found while loading.

Plain slotted dataclasses and dicts only, so a 1M-entity catalog stays small in memory, queries
are dictionary look-ups, and the whole `Catalog` pickles cleanly for the content-hash cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Literal

from rapidfuzz import fuzz, process

from graph.errors import AmbiguousAsset, AssetNotFound
from graph.refs import DEFAULT_NAMESPACE, RefError, split_ref

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
    spec: dict[str, Any] = field(default_factory=dict)
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


@dataclass
class Catalog:
    """Everything loaded, with the indexes the queries need. Build it with `graph.loader`.

    Edges run in data-flow direction: `downstream[b][a]` exists when b feeds a (a dependsOn b, or
    a lineage event read b and wrote a); the value says where the edge came from.
    """

    entities: dict[str, Entity] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    downstream: dict[str, dict[str, str]] = field(default_factory=dict)
    upstream: dict[str, dict[str, str]] = field(default_factory=dict)
    rotations: dict[str, Rotation] = field(default_factory=dict)
    # derived indexes, filled by `reindex()`
    by_name: dict[str, list[str]] = field(default_factory=dict)
    group_members: dict[str, list[str]] = field(default_factory=dict)
    rotations_by_owner: dict[str, list[str]] = field(default_factory=dict)

    # -- building -------------------------------------------------------------------------------

    def add_edge(self, source: str, target: str, origin: str) -> None:
        """Record `source` feeds `target`; the first origin seen for a pair is kept."""
        targets = self.downstream.setdefault(source, {})
        if target not in targets:
            targets[target] = origin
            self.upstream.setdefault(target, {})[source] = origin

    def reindex(self) -> None:
        """Rebuild the look-up indexes from `entities` and `rotations`."""
        by_name: dict[str, list[str]] = {}
        members: dict[str, dict[str, None]] = {}  # dicts as ordered sets: linear for big groups
        for ref, entity in self.entities.items():
            by_name.setdefault(entity.name.lower(), []).append(ref)
            if entity.kind == "group":
                for user in entity.members:
                    members.setdefault(ref, {})[user] = None
            elif entity.kind == "user":
                for group in entity.member_of:
                    members.setdefault(group, {})[ref] = None
        by_owner: dict[str, list[str]] = {}
        for ref, rotation in self.rotations.items():
            if rotation.owner:
                by_owner.setdefault(rotation.owner, []).append(ref)
        self.by_name = by_name
        self.group_members = {group: list(users) for group, users in members.items()}
        self.rotations_by_owner = by_owner

    # -- reading --------------------------------------------------------------------------------

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def edge_count(self) -> int:
        return sum(len(t) for t in self.downstream.values())

    def get(self, ref: str) -> Entity | None:
        return self.entities.get(ref.lower())

    def assets(self) -> Iterator[Entity]:
        """Entities that can break: not groups, users, rotations or locations."""
        return (e for e in self.entities.values() if e.is_asset)

    def resolve(self, text: str) -> Entity:
        """The entity `text` names: a ref (any case, kind and namespace optional) or a bare name.

        A bare name must be unique across kinds and namespaces; `kind:name` looks in the default
        namespace; `namespace/name` matches every kind in that namespace.
        """
        text = text.strip()
        try:
            kind, namespace, name = split_ref(text)
        except RefError:
            raise AssetNotFound(text, self.suggest(text)) from None
        if kind is not None:
            ref = f"{kind}:{namespace or DEFAULT_NAMESPACE}/{name}".lower()
            entity = self.entities.get(ref)
            if entity is None:
                raise AssetNotFound(text, self.suggest(name))
            return entity
        candidates = self.by_name.get(name.lower(), [])
        if namespace is not None:
            candidates = [
                r for r in candidates if self.entities[r].namespace.lower() == namespace.lower()
            ]
        if len(candidates) == 1:
            return self.entities[candidates[0]]
        if not candidates:
            raise AssetNotFound(text, self.suggest(name))
        raise AmbiguousAsset(text, sorted(candidates))

    def suggest(self, text: str, limit: int = 5) -> list[str]:
        """The canonical refs whose names are closest to `text`, best first."""
        names = list(self.by_name)
        if not names:
            return []
        found = process.extract(
            text.lower(), names, scorer=fuzz.WRatio, limit=limit, score_cutoff=60
        )
        refs: list[str] = []
        for name, _score, _index in found:
            refs.extend(sorted(self.by_name[name]))
        return refs[:limit]
