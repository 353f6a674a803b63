"""Questions asked of a loaded catalog: pure functions, no I/O, no clock (time is an argument).

The CLI, the TUI, runbook permissions and postmortems all call these same functions, so the
answers they show can never disagree.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz, process

from graph.errors import AssetNotFound
from graph.model import Catalog, Entity, Rotation
from graph.refs import RefError, ref_for_field
from graph.rotation import on_call

# How many assets one reason line names before it says "and N more".
REASON_ASSET_LIMIT = 3


@dataclass(slots=True)
class Affected:
    """An entity reached from the asset; `path` runs from the asset to it (both included)."""

    ref: str
    type: str
    hops: int
    path: list[str]
    owner: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "type": self.type,
            "hops": self.hops,
            "path": self.path,
            "owner": self.owner,
        }


@dataclass(frozen=True, slots=True)
class Person:
    ref: str
    name: str
    email: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "name": self.name, "email": self.email}


@dataclass(frozen=True, slots=True)
class OnCall:
    """Who a rotation puts on call now, and until when (UTC)."""

    ref: str
    name: str
    email: str | None
    rotation: str
    until: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "name": self.name,
            "email": self.email,
            "rotation": self.rotation,
            "until": self.until.isoformat(),
        }


@dataclass(slots=True)
class Ownership:
    asset: str
    owner: str | None
    members: list[Person]
    on_call: OnCall | None
    escalation: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "owner": self.owner,
            "members": [m.as_dict() for m in self.members],
            "on_call": self.on_call.as_dict() if self.on_call else None,
            "escalation": self.escalation,
        }


@dataclass(slots=True)
class PageTarget:
    """One person to page, once, with every reason (and the assets behind it)."""

    ref: str
    name: str
    email: str | None
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "name": self.name, "email": self.email, "reasons": self.reasons}


@dataclass(frozen=True, slots=True)
class Match:
    ref: str
    score: float
    label: str

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "score": self.score, "label": self.label}


# -- the graph ------------------------------------------------------------------------------------


def blast_radius(catalog: Catalog, ref: str, depth: int | None = None) -> list[Affected]:
    """Everything `ref` feeds, directly or not, nearest first, each with one shortest path."""
    return _walk(catalog, catalog.downstream, _entity(catalog, ref).ref, depth)


def upstream(catalog: Catalog, ref: str, depth: int | None = None) -> list[Affected]:
    """Everything that feeds `ref`; each `path` runs from `ref` back to that source."""
    return _walk(catalog, catalog.upstream, _entity(catalog, ref).ref, depth)


def _walk(
    catalog: Catalog, adjacency: dict[str, dict[str, str]], start: str, depth: int | None
) -> list[Affected]:
    """Breadth-first, so the first path found to a node is a shortest one."""
    parent: dict[str, str] = {start: start}
    hops: dict[str, int] = {start: 0}
    order: list[str] = []
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if depth is not None and hops[node] >= depth:
            continue
        for succ in adjacency.get(node, {}):
            if succ in parent:
                continue
            parent[succ] = node
            hops[succ] = hops[node] + 1
            order.append(succ)
            queue.append(succ)
    found = []
    for ref in order:
        path = [ref]
        while path[-1] != start:
            path.append(parent[path[-1]])
        path.reverse()
        entity = catalog.entities.get(ref)
        found.append(
            Affected(
                ref=ref,
                type=(entity.type or entity.kind) if entity else ref.partition(":")[0],
                hops=hops[ref],
                path=path,
                owner=entity.owner if entity else None,
            )
        )
    return found


# -- people ---------------------------------------------------------------------------------------


def person(catalog: Catalog, ref: str) -> Person:
    """A user as a Person; a user missing from the catalog still shows by its ref's name."""
    entity = catalog.entities.get(ref)
    if entity is None:
        return Person(ref, ref.rpartition("/")[2], None)
    return Person(ref, entity.display_name or entity.name, entity.email)


def rotation_for(catalog: Catalog, group_ref: str) -> Rotation | None:
    """The rotation of a group, else of its nearest ancestor group that has one."""
    seen: set[str] = set()
    current: str | None = group_ref
    while current and current not in seen:
        seen.add(current)
        rotations = catalog.rotations_by_owner.get(current)
        if rotations:
            return catalog.rotations[rotations[0]]
        entity = catalog.entities.get(current)
        current = entity.parent if entity else None
    return None


def current_on_call(catalog: Catalog, rotation: Rotation, at: datetime) -> OnCall:
    user, until = on_call(rotation, at)
    who = person(catalog, user)
    return OnCall(who.ref, who.name, who.email, rotation.ref, until)


def owners(catalog: Catalog, ref: str, at: datetime) -> Ownership:
    """The owner of `ref`, its people, who is on call for it at `at`, and the escalation chain."""
    entity = _entity(catalog, ref)
    owner = entity.owner
    if owner is None:
        return Ownership(entity.ref, None, [], None, [])
    if owner.startswith("user:"):
        return Ownership(entity.ref, owner, [person(catalog, owner)], None, [])
    members = [person(catalog, m) for m in catalog.group_members.get(owner, [])]
    rotation = rotation_for(catalog, owner)
    if rotation is None:
        return Ownership(entity.ref, owner, members, None, [])
    return Ownership(
        entity.ref,
        owner,
        members,
        current_on_call(catalog, rotation, at),
        [step.ref for step in rotation.escalation],
    )


def who_to_page(catalog: Catalog, refs: list[str], at: datetime) -> list[PageTarget]:
    """The people to page for these assets, each once, in the order the assets came.

    For an asset owned by a group: whoever its rotation puts on call (the group's or an ancestor
    group's); a group without any rotation pages its members. An asset owned by a user pages
    that user. Each reason names the assets behind it.
    """
    # person ref → role ("on call for team-ml", "" for a direct owner) → assets, first-seen order
    reasons: dict[str, dict[str, dict[str, None]]] = {}  # inner dicts: ordered sets

    def add(person_ref: str, why: str, asset: str) -> None:
        reasons.setdefault(person_ref, {}).setdefault(why, {})[asset] = None

    for ref in refs:
        entity = catalog.get(ref)
        if entity is None or entity.owner is None:
            continue
        owner = entity.owner
        if owner.startswith("user:"):
            add(owner, "", entity.ref)
            continue
        group = _short(catalog, owner)
        rotation = rotation_for(catalog, owner)
        if rotation is not None:
            user, _until = on_call(rotation, at)
            add(user, f"on call for {group}", entity.ref)
            continue
        for member in catalog.group_members.get(owner, []):
            add(member, f"member of {group}", entity.ref)
    targets = []
    for person_ref, by_reason in reasons.items():
        who = person(catalog, person_ref)
        lines = [
            f"{why} (owns {_asset_list(list(assets))})"
            if why
            else f"owns {_asset_list(list(assets))}"
            for why, assets in by_reason.items()
        ]
        targets.append(PageTarget(who.ref, who.name, who.email, lines))
    return targets


def is_owner_or_on_call(catalog: Catalog, person_ref: str, asset_ref: str, at: datetime) -> bool:
    """May this person act on this asset as its owner: the owning user, a member of the owning
    group, or the one on call for it (the owning group's rotation) at `at`."""
    try:
        person_ref = ref_for_field(person_ref, "members")
    except RefError:
        return False
    entity = catalog.get(asset_ref)
    if entity is None or entity.owner is None:
        return False
    owner = entity.owner
    if owner == person_ref:
        return True
    if person_ref in catalog.group_members.get(owner, ()):
        return True
    rotation = rotation_for(catalog, owner)
    return rotation is not None and on_call(rotation, at)[0] == person_ref


# -- search ---------------------------------------------------------------------------------------


def find(catalog: Catalog, text: str, limit: int = 20) -> list[Match]:
    """Entities whose name, title or tags resemble `text`, best first.

    rapidfuzz ranks the candidates; among equally good ones an exact name beats a name that
    starts with the text, which beats one that merely contains it, which beats a shorter match.
    """
    query = text.strip().lower()
    if not query or limit <= 0:
        return []
    # One key per name, title and tag, so a long title does not dilute a good name match.
    owners: list[str] = []
    keys: list[str] = []
    for ref, entity in catalog.entities.items():
        if entity.kind == "location":
            continue
        for key in (entity.name, entity.title, *entity.tags):
            if key:
                owners.append(ref)
                keys.append(key.lower())
    found = process.extract(
        query, keys, scorer=fuzz.WRatio, limit=max(limit * 10, 100), score_cutoff=60
    )
    best: dict[str, float] = {}
    for _key, score, index in found:
        ref = owners[index]
        best[ref] = max(best.get(ref, 0.0), float(score))

    def rank(ref: str) -> tuple[int, int, int, float, int, str]:
        name = catalog.entities[ref].name.lower()
        return (
            -(name == query),
            -name.startswith(query),
            -(query in name),
            -best[ref],
            len(name),
            ref,
        )

    matches = []
    for ref in sorted(best, key=rank)[:limit]:
        entity = catalog.entities[ref]
        title = entity.display_name or entity.title
        label = f"{entity.ref} — {title}" if title else entity.ref
        matches.append(Match(entity.ref, round(best[ref], 1), label))
    return matches


# -- helpers --------------------------------------------------------------------------------------


def _entity(catalog: Catalog, ref: str) -> Entity:
    entity = catalog.get(ref)
    if entity is None:
        raise AssetNotFound(ref, catalog.suggest(ref.rpartition("/")[2]))
    return entity


def _short(catalog: Catalog, ref: str) -> str:
    entity = catalog.entities.get(ref)
    return entity.name if entity else ref.rpartition("/")[2]


def _asset_list(assets: list[str]) -> str:
    shown = ", ".join(assets[:REASON_ASSET_LIMIT])
    more = len(assets) - REASON_ASSET_LIMIT
    return f"{shown} and {more} more" if more > 0 else shown
