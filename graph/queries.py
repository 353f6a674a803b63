"""Questions asked of a loaded catalog: pure functions, no I/O, no clock (time is an argument).

The CLI, the TUI, runbook permissions and postmortems all call these same functions, so the
answers they show can never disagree.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, overload

from graph.edges import Direction
from graph.errors import AssetNotFound
from graph.model import Catalog, Definition, Entity, Rotation
from graph.records import describe_definitions
from graph.refs import RefError, ref_for_field
from graph.rotation import on_call
from graph.search import Match

if TYPE_CHECKING:
    from graph.table import EntityTable

# How many assets one reason line names before it says "and N more".
REASON_ASSET_LIMIT = 3


class Affected:
    """An entity reached from the asset; `path` runs from the asset to it (both included).

    A walk can reach half of a 100k-asset graph, so `path` is made from the walk's parent links
    the first time someone reads it (then kept): building every path up front took longer than
    the walk itself.
    """

    __slots__ = ("_path", "_row", "_walk", "hops", "owner", "ref", "type")

    def __init__(
        self,
        ref: str,
        type: str,
        hops: int,
        path: list[str] | None,
        owner: str | None,
        walk: _Walk | None = None,
        row: int = -1,
    ) -> None:
        self.ref = ref
        self.type = type
        self.hops = hops
        self.owner = owner
        self._path = path
        self._walk = walk
        self._row = row

    @property
    def path(self) -> list[str]:
        if self._path is None:
            self._path = self._walk.path_to(self._row) if self._walk is not None else [self.ref]
        return self._path

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "type": self.type,
            "hops": self.hops,
            "path": self.path,
            "owner": self.owner,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Affected):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Affected(ref={self.ref!r}, type={self.type!r}, hops={self.hops}, "
            f"path={self.path!r}, owner={self.owner!r})"
        )


class _Walk:
    """One breadth-first walk's parent links: enough to give any reached row its path."""

    __slots__ = ("parent", "refs", "start")

    def __init__(self, parent: array[int], refs: Sequence[str], start: int) -> None:
        self.parent, self.refs, self.start = parent, refs, start

    def path_to(self, row: int) -> list[str]:
        rows = [row]
        parent, start = self.parent, self.start
        while rows[-1] != start:
            rows.append(parent[rows[-1]])
        refs = self.refs
        return [refs[r] for r in reversed(rows)]


class Reach(Sequence[Affected]):
    """What a walk reached, nearest first: a sequence of `Affected`, each made when it is read.

    Why not a list: a blast radius can hold half of a 100k-asset graph, and making 55k objects
    (and the garbage collector's passes over them) cost twice the walk itself, while the TUI's
    tree shows one level at a time. The walk keeps only row numbers and parent links; reading an
    item makes a fresh `Affected` (`list(reach)` makes them all). Compares equal to a list of the
    same `Affected`s.
    """

    __slots__ = ("_ends", "_rows", "_table", "_walk")

    def __init__(self, walk: _Walk, rows: array[int], ends: list[int], table: EntityTable) -> None:
        self._walk, self._rows, self._ends, self._table = walk, rows, ends, table

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Affected: ...

    @overload
    def __getitem__(self, index: slice) -> list[Affected]: ...

    def __getitem__(self, index: int | slice) -> Affected | list[Affected]:
        if isinstance(index, slice):
            return [self._make(i) for i in range(len(self._rows))[index]]
        return self._make(range(len(self._rows))[index])

    def __iter__(self) -> Iterator[Affected]:
        walk, rows, table = self._walk, self._rows, self._table
        refs, kinds = table.refs, table.column("kind")
        types, owners = table.column("type"), table.column("owner")
        first = 0
        for hops, end in enumerate(self._ends, start=1):
            for i in range(first, end):
                row = rows[i]
                yield Affected(
                    refs[row], types[row] or kinds[row], hops, None, owners[row], walk, row
                )
            first = end

    def refs(self) -> list[str]:
        """The reached refs, nearest first, without making an `Affected` for each."""
        refs = self._table.refs
        return [refs[row] for row in self._rows]

    def parent_refs(self) -> list[str]:
        """For each reached entity, nearest first, the one the walk reached it from (the start
        for the first hop): the next-to-last step of its `path`, without making the path."""
        refs, parent = self._table.refs, self._walk.parent
        return [refs[parent[row]] for row in self._rows]

    def owners(self) -> list[str | None]:
        """The reached entities' owners, nearest first, without making an `Affected` for each."""
        owners = self._table.column("owner")
        return [owners[row] for row in self._rows]

    def _make(self, i: int) -> Affected:
        table, row = self._table, self._rows[i]
        return Affected(
            table.refs[row],
            table.column("type")[row] or table.column("kind")[row],
            bisect_right(self._ends, i) + 1,
            None,
            table.column("owner")[row],
            self._walk,
            row,
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Reach | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Reach({len(self)} reached, {len(self._ends)} hops deep)"


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
    """Who answers for an asset. `definitions` (two or more) says the asset is defined more than
    once, so no owner is named; `owner_in_catalog` is False when the owner ref names nothing."""

    asset: str
    owner: str | None
    members: list[Person]
    on_call: OnCall | None
    escalation: list[str]
    definitions: tuple[Definition, ...] = ()
    owner_in_catalog: bool = True

    @property
    def ambiguous(self) -> bool:
        return len(self.definitions) > 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "owner": self.owner,
            "members": [m.as_dict() for m in self.members],
            "on_call": self.on_call.as_dict() if self.on_call else None,
            "escalation": self.escalation,
        }


@dataclass(frozen=True, slots=True)
class Unpaged:
    """An asset nobody is paged for, and why (defined twice, or its owner is not in the catalog)."""

    ref: str
    reason: str

    def __str__(self) -> str:
        return self.reason if self.reason.startswith(self.ref) else f"{self.ref}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "reason": self.reason}


@dataclass(slots=True)
class PageTarget:
    """One person to page, once, with every reason (and the assets behind it)."""

    ref: str
    name: str
    email: str | None
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "name": self.name, "email": self.email, "reasons": self.reasons}


# -- the graph ------------------------------------------------------------------------------------


def blast_radius(catalog: Catalog, ref: str, depth: int | None = None) -> Reach:
    """Everything `ref` feeds, directly or not, nearest first, each with one shortest path."""
    return _walk(catalog, "down", _entity(catalog, ref).ref, depth)


def upstream(catalog: Catalog, ref: str, depth: int | None = None) -> Reach:
    """Everything that feeds `ref`; each `path` runs from `ref` back to that source."""
    return _walk(catalog, "up", _entity(catalog, ref).ref, depth)


def _walk(catalog: Catalog, direction: Direction, start: str, depth: int | None) -> Reach:
    """Breadth-first over row numbers, one level at a time, so the first path found to a row
    is a shortest one and `hops` is the level."""
    table = catalog.table
    starts, neighbours = catalog.edges.lists(direction)
    origin = table.index[start]
    parent = array("i", [-1]) * len(table)  # not a list: the collector never needs to scan it
    parent[origin] = origin
    rows = array("i")
    ends: list[int] = []
    frontier = [origin]
    while frontier and (depth is None or len(ends) < depth):
        reached = []
        for node in frontier:
            for succ in neighbours[starts[node] : starts[node + 1]]:
                if parent[succ] < 0:
                    parent[succ] = node
                    reached.append(succ)
        if reached:
            rows.extend(reached)
            ends.append(len(rows))
        frontier = reached
    return Reach(_Walk(parent, table.refs, origin), rows, ends, table)


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
    definitions = catalog.definitions(entity.ref)
    if definitions:  # defined twice: which owner is right is for a person to fix
        return Ownership(entity.ref, None, [], None, [], definitions)
    owner = entity.owner
    if owner is None:
        return Ownership(entity.ref, None, [], None, [])
    known = catalog.table.row(owner) is not None
    if owner.startswith("user:"):
        return Ownership(entity.ref, owner, [person(catalog, owner)], None, [], (), known)
    members = [person(catalog, m) for m in catalog.group_members.get(owner, [])]
    rotation = rotation_for(catalog, owner)
    if rotation is None:
        return Ownership(entity.ref, owner, members, None, [], (), known)
    return Ownership(
        entity.ref,
        owner,
        members,
        current_on_call(catalog, rotation, at),
        [step.ref for step in rotation.escalation],
        (),
        known,
    )


def who_to_page(catalog: Catalog, refs: list[str], at: datetime) -> list[PageTarget]:
    """The people to page for these assets, each once, in the order the assets came.

    For an asset owned by a group: whoever its rotation puts on call (the group's or an ancestor
    group's); a group without any rotation pages its members. An asset owned by a user pages
    that user. Each reason names the assets behind it.
    """
    # person ref → role ("on call for team-ml", "" for a direct owner) → assets, first-seen order
    reasons: dict[str, dict[str, dict[str, None]]] = {}  # inner dicts: ordered sets
    # Who an owner pages does not depend on the asset: work it out once per owner, and read
    # owners from the table's column, so a 50k-asset blast radius makes no Entity objects.
    paged_by_owner: dict[str, list[tuple[str, str]]] = {}
    table = catalog.table
    owner_column = table.column("owner")
    for ref in refs:
        row = table.row(ref.lower())
        owner = owner_column[row] if row is not None else None
        if owner is None:
            continue
        paged = paged_by_owner.get(owner)
        if paged is None:
            paged = paged_by_owner[owner] = _paged_for_owner(catalog, owner, at)
        asset = table.refs[row]
        for person_ref, why in paged:
            reasons.setdefault(person_ref, {}).setdefault(why, {})[asset] = None
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


def unpaged(catalog: Catalog, refs: list[str]) -> list[Unpaged]:
    """The assets among `refs` that `who_to_page` pages nobody for, with the reason a person
    must fix: defined more than once (both definitions named), or owned by a ref the catalog
    does not hold. Owners are read from the column, each checked once."""
    found: list[Unpaged] = []
    table = catalog.table
    owner_column = table.column("owner")
    missing: dict[str, bool] = {}
    for ref in refs:
        row = table.row(ref.lower())
        if row is None:
            continue
        asset = table.refs[row]
        definitions = catalog.definitions(asset)
        if definitions:
            found.append(Unpaged(asset, describe_definitions(asset, definitions)))
            continue
        owner = owner_column[row]
        if owner is None:
            continue
        absent = missing.get(owner)
        if absent is None:
            absent = missing[owner] = table.row(
                owner
            ) is None and not catalog.rotations_by_owner.get(owner)
        if absent:
            found.append(Unpaged(asset, f"its owner {owner} is not in the catalog"))
    return found


def _paged_for_owner(catalog: Catalog, owner: str, at: datetime) -> list[tuple[str, str]]:
    """(person, why) for everyone an asset of `owner` pages: the owning user; else whoever the
    group's (or an ancestor's) rotation puts on call; else, with no rotation, every member."""
    if owner.startswith("user:"):
        return [(owner, "")]
    group = _short(catalog, owner)
    rotation = rotation_for(catalog, owner)
    if rotation is not None:
        return [(on_call(rotation, at)[0], f"on call for {group}")]
    return [(member, f"member of {group}") for member in catalog.group_members.get(owner, [])]


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
    """Entities whose name, title or tags resemble `text`, best first (see `graph.search`).

    The first call on a catalog builds its search index; later calls, one per keystroke, do not.
    """
    from graph.search import finder

    matches = finder(catalog).find(text, limit)
    named = lineage_named(catalog, text)
    if not named:
        return matches
    first = [Match(e.ref, 100.0, f"{e.ref} — {e.title}" if e.title else e.ref) for e in named]
    refs = {m.ref for m in first}
    return [*first, *(m for m in matches if m.ref not in refs)][:limit]


def lineage_named(catalog: Catalog, text: str) -> list[Entity]:
    """The OpenLineage datasets and jobs `text` names as OpenLineage writes them (see
    `graph.olnames.lineage_candidates`; `dataset:`/`job:` before it keeps to that kind): a
    pasted `postgres://db:5432/public.orders` is no fuzzy match for `public.orders`, but it is
    that dataset. Dictionary lookups only, so it can run on every keystroke."""
    from graph.olnames import LINEAGE_KINDS, lineage_candidates

    kind, sep, rest = text.strip().partition(":")
    only = kind.lower() if sep and kind.lower() in LINEAGE_KINDS and "/" in rest else None
    found: dict[str, Entity] = {}
    for ref in lineage_candidates(rest if only else text):
        if only is not None and not ref.startswith(f"{only}:"):
            continue
        entity = catalog.entities.get(ref)
        if entity is not None:
            found.setdefault(entity.ref, entity)
    return list(found.values())


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
