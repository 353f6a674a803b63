"""The loaded catalog: entities, data-flow edges, rotations and the problems found while loading.

Entities live in columns (`graph.table`) and edges in integer arrays (`graph.edges`), so a
1M-entity catalog stays small in memory, opens from the cache at memory speed, and walks fast;
`entities`, `downstream` and `upstream` still read as mappings keyed by canonical ref.
The plain records (`Entity`, `Problem`, `Rotation`, ...) live in `graph.records` and are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from typing import Any

from graph.edges import Adjacency, EdgeIndex
from graph.errors import AmbiguousAsset, AssetNotFound
from graph.records import (
    NON_ASSET_KINDS,
    Definition,
    Entity,
    EscalationStep,
    Override,
    Problem,
    Rotation,
    Severity,
)
from graph.refs import DEFAULT_NAMESPACE, RefError, split_ref
from graph.table import EntityMap, EntityTable

__all__ = [
    "NON_ASSET_KINDS",
    "Catalog",
    "Definition",
    "Entity",
    "EscalationStep",
    "Override",
    "Problem",
    "Rotation",
    "Severity",
]

# (names, group_members, rotations_by_owner): derived look-ups, cached with the catalog.
Indexes = tuple[dict[str, Any], dict[str, list[str]], dict[str, list[str]]]


class Catalog:
    """Everything loaded, with the indexes the queries need. Build it with `graph.loader`.

    Edges run in data-flow direction: `downstream[b][a]` exists when b feeds a (a dependsOn b, or
    a lineage event read b and wrote a); the value says where the edge came from. `table` and
    `edges` are the same data by row number, for queries that walk many entities.
    """

    def __init__(
        self,
        table: EntityTable | None = None,
        edges: EdgeIndex | None = None,
        problems: list[Problem] | None = None,
        rotations: dict[str, Rotation] | None = None,
        indexes: Indexes | None = None,
        *,
        duplicates: dict[str, tuple[Definition, ...]] | None = None,
    ) -> None:
        self.table = table if table is not None else EntityTable.from_entities(())
        self.edges = edges if edges is not None else EdgeIndex.empty(len(self.table))
        if self.edges.size != len(self.table):
            raise ValueError("the edges were built for a different entity table")
        self.entities = EntityMap(self.table)
        self.downstream = Adjacency(self.edges, self.table, "down")
        self.upstream = Adjacency(self.edges, self.table, "up")
        self.problems: list[Problem] = problems if problems is not None else []
        self.rotations: dict[str, Rotation] = rotations if rotations is not None else {}
        # refs defined more than once, with every definition: their owner is unknown
        self.duplicates: dict[str, tuple[Definition, ...]] = duplicates or {}
        # lower-case name → its row, or the list of rows when several entities share the name
        self.names: dict[str, int | list[int]] = {}
        self.group_members: dict[str, list[str]] = {}
        self.rotations_by_owner: dict[str, list[str]] = {}
        # graph.search.Finder, made by the first search and never cached or pickled
        self.search_index: Any = None
        if indexes is None:
            self.reindex()
        else:
            self.names, self.group_members, self.rotations_by_owner = indexes

    def reindex(self) -> None:
        """Rebuild the look-up indexes from the entity table and the rotations."""
        table = self.table
        names: dict[str, int | list[int]] = {}
        for row, name in enumerate(table.column("name")):
            key = name.lower()
            if key == name:
                key = name  # the same object: stored once in the cache
            found = names.get(key)
            if found is None:
                names[key] = row
            elif isinstance(found, int):
                names[key] = [found, row]
            else:
                found.append(row)
        members: dict[str, dict[str, None]] = {}  # dicts as ordered sets: linear for big groups
        refs, group_users, user_groups = (
            table.refs,
            table.column("members"),
            table.column("member_of"),
        )
        for row, kind in enumerate(table.column("kind")):
            if kind == "group":
                for user in group_users[row]:
                    members.setdefault(refs[row], {})[user] = None
            elif kind == "user":
                for group in user_groups[row]:
                    members.setdefault(group, {})[refs[row]] = None
        by_owner: dict[str, list[str]] = {}
        for ref, rotation in self.rotations.items():
            if rotation.owner:
                by_owner.setdefault(rotation.owner, []).append(ref)
        self.names = names
        self.group_members = {group: list(users) for group, users in members.items()}
        self.rotations_by_owner = by_owner

    def with_table(self, table: EntityTable) -> Catalog:
        """The same catalog over a patched table (`EntityTable.with_rows`: same rows, same refs
        and names, so the edges, problems and indexes still hold)."""
        if len(table) != len(self.table):
            raise ValueError("a patched table has the same rows")
        return Catalog(
            table,
            self.edges,
            self.problems,
            self.rotations,
            (self.names, self.group_members, self.rotations_by_owner),
            duplicates=self.duplicates,
        )

    # -- the cache's form -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Plain values only (strings, ints, bytes, lists, dicts): what `marshal` can store."""
        return {
            "table": self.table.state(),
            "edges": self.edges.state(),
            "problems": [(p.severity, p.file, p.line, p.entity, p.message) for p in self.problems],
            "rotations": [_rotation_state(r) for r in self.rotations.values()],
            "indexes": (self.names, self.group_members, self.rotations_by_owner),
            "duplicates": [
                (ref, [(d.file, d.line, d.owner) for d in found])
                for ref, found in self.duplicates.items()
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Catalog:
        names, group_members, rotations_by_owner = state["indexes"]
        return cls(
            EntityTable.from_state(state["table"]),
            EdgeIndex.from_state(state["edges"]),
            [Problem(*p) for p in state["problems"]],
            {r[0]: _rotation_from_state(r) for r in state["rotations"]},
            (names, group_members, rotations_by_owner),
            duplicates={
                ref: tuple(Definition(*d) for d in found)
                for ref, found in state.get("duplicates", ())
            },
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Catalog.from_state, (self.state(),))

    def __repr__(self) -> str:
        return (
            f"Catalog({len(self.table)} entities, {len(self.edges)} edges, "
            f"{len(self.rotations)} rotations, {len(self.problems)} problems)"
        )

    # -- reading --------------------------------------------------------------------------------

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def edge_count(self) -> int:
        return len(self.edges)

    def named(self, name: str) -> list[str]:
        """The refs of every entity called `name` (any case)."""
        rows = self.names.get(name.lower())
        if rows is None:
            return []
        refs = self.table.refs
        return [refs[rows]] if isinstance(rows, int) else [refs[row] for row in rows]

    def definitions(self, ref: str) -> tuple[Definition, ...]:
        """Every definition of `ref` when it is defined more than once, else ()."""
        return self.duplicates.get(ref, ()) if self.duplicates else ()

    def get(self, ref: str) -> Entity | None:
        return self.entities.get(ref.lower())

    def assets(self) -> Iterator[Entity]:
        """Entities that can break: not groups, users, rotations or locations."""
        kinds = self.table.column("kind")
        every = self.entities.all()
        return (every[row] for row, kind in enumerate(kinds) if kind not in NON_ASSET_KINDS)

    def resolve(self, text: str) -> Entity:
        """The entity `text` names: a ref (any case, kind and namespace optional) or a bare name,
        or an OpenLineage dataset or job as OpenLineage names it (`namespace/name`, e.g.
        `postgres://db:5432/public.orders`, or `dataset:<namespace>/<name>` with its exact case).

        A bare name must be unique across kinds and namespaces; `kind:name` looks in the default
        namespace; `namespace/name` matches every kind in that namespace. Backstage refs are
        case-insensitive; OpenLineage names are not (see `graph.olnames`).
        """
        text = text.strip()
        exact = self._lineage_exact(text)
        if exact is not None:
            return exact
        try:
            return self._resolve_ref(text)
        except AssetNotFound:
            from graph.olnames import lineage_candidates

            for ref in lineage_candidates(text):
                entity = self.entities.get(ref)
                if entity is not None:
                    return entity
            raise

    def _lineage_exact(self, text: str) -> Entity | None:
        """`dataset:<namespace>/<name>` or `job:…` typed with OpenLineage's own spelling."""
        kind, sep, rest = text.partition(":")
        if not sep or kind.lower() not in ("dataset", "job") or "/" not in rest:
            return None
        from graph.olnames import lineage_candidates

        prefix = f"{kind.lower()}:"
        for ref in lineage_candidates(rest):
            if ref.startswith(prefix) and (entity := self.entities.get(ref)) is not None:
                return entity
        return None

    def _resolve_ref(self, text: str) -> Entity:
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
        candidates = self.named(name)
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
        from rapidfuzz import fuzz, process  # only a failed look-up needs it

        names = list(self.names)
        if not names:
            return []
        found = process.extract(
            text.lower(), names, scorer=fuzz.WRatio, limit=limit, score_cutoff=60
        )
        refs: list[str] = []
        for name, _score, _index in found:
            refs.extend(sorted(self.named(name)))
        return refs[:limit]


def _rotation_state(rotation: Rotation) -> tuple[Any, ...]:
    """A rotation as plain values; instants keep their UTC offset (not their zone's name, which
    `on_call` never needs: it compares instants)."""
    return (
        rotation.ref,
        rotation.owner,
        rotation.timezone,
        rotation.handoff_weekday,
        rotation.handoff_time.isoformat(),
        rotation.length_days,
        rotation.start,
        rotation.members,
        tuple((o.user, o.start.isoformat(), o.end.isoformat()) for o in rotation.overrides),
        tuple((step.ref, step.delay_minutes) for step in rotation.escalation),
    )


def _rotation_from_state(state: tuple[Any, ...]) -> Rotation:
    ref, owner, zone, weekday, handoff, length, start, members, overrides, escalation = state
    return Rotation(
        ref=ref,
        owner=owner,
        timezone=zone,
        handoff_weekday=weekday,
        handoff_time=time.fromisoformat(handoff),
        length_days=length,
        start=start,
        members=tuple(members),
        overrides=tuple(
            Override(user, datetime.fromisoformat(begin), datetime.fromisoformat(end))
            for user, begin, end in overrides
        ),
        escalation=tuple(EscalationStep(step, delay) for step, delay in escalation),
    )
