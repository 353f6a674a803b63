"""Assembling a Catalog from what the readers found: references are checked only at the end.

Why deferred: an entity may name one that a later file defines, so existence checks, data-flow
edges, owner checks and cycle detection all run once in `finish()`, in time linear in the size of
the catalog. The readers (`graph.backstage`, `graph.lineage`) only add entities, problems and
pending references.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Literal

from graph.edges import REFERRER_IS_SOURCE, REFERRER_IS_TARGET, WHOLE_TEXT, EdgeIndex
from graph.model import Catalog
from graph.records import Definition, Entity, Problem, Rotation, Severity
from graph.refs import ref_for_field
from graph.table import EntityTable

# Which way data flows along a reference, seen from the entity that holds it.
#   "in":  the target feeds the referrer (A dependsOn B: B → A; A consumesApis X: X → A)
#   "out": the referrer feeds the target (A dependencyOf B: A → B; A providesApis X: A → X)
Flow = Literal["in", "out"]

# (referrer, field, target, file, line, flow): a reference waiting for its existence check.
Expectation = tuple[str, str, str, str, "int | None", "Flow | None"]

# Kinds that should say who owns them; a missing owner is a warning on these.
OWNED_KINDS: frozenset[str] = frozenset(
    {"component", "resource", "system", "domain", "api", "dataset", "job"}
)

LINEAGE_ORIGIN = "OpenLineage"
DATA_FLOW_FIELDS: frozenset[str] = frozenset(
    {"dependsOn", "dependencyOf", "providesApis", "consumesApis"}
)


class CatalogBuilder:
    """Collects entities and problems from every input file, then links them in `finish()`."""

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self.problems: list[Problem] = []
        self.rotations: dict[str, Rotation] = {}
        self._pending: list[Expectation] = []
        # edges whose ends are known to exist (lineage): (source, target, file, line, note)
        self._edges: list[tuple[str, str, str, int, str]] = []
        # one string object per distinct ref: references repeat (owners, systems) by the thousand
        self._refs: dict[str, str] = {}
        self._canonical: dict[tuple[str, str, str], str] = {}
        # ref → every definition, for refs defined more than once (the catalog says so)
        self._definitions: dict[str, list[Definition]] = {}

    # -- what readers call ---------------------------------------------------------------------

    def problem(
        self, severity: Severity, file: str, line: int | None, entity: str | None, message: str
    ) -> None:
        self.problems.append(Problem(severity, file, line, entity, message))

    def share(self, ref: str) -> str:
        """The one stored copy of an equal string (refs, files): memory for 1M entities."""
        return self._refs.setdefault(ref, ref)

    def ref_for_field(self, text: str, field: str, namespace: str) -> str:
        """`graph.refs.ref_for_field`, remembered for the fields that name the same few entities
        thousands of times (owner, system, members); data-flow references are mostly distinct,
        and remembering a million of them would cost more memory than parsing them again.
        Raises RefError as it does (failures are not remembered)."""
        if field in DATA_FLOW_FIELDS:
            return self.share(ref_for_field(text, field, namespace))
        key = (text, field, namespace)
        found = self._canonical.get(key)
        if found is None:
            found = self._canonical[key] = self.share(ref_for_field(text, field, namespace))
        return found

    def add_entity(self, entity: Entity) -> bool:
        """Add a new entity. A second definition of the same ref is an error: its references are
        dropped and both definitions are remembered, so no one reads an owner for that ref."""
        existing = self.entities.get(entity.ref)
        if existing is not None:
            self.problem(
                "error",
                entity.file,
                entity.line,
                entity.ref,
                f"duplicate entity: already defined at {existing.file}:{existing.line}; "
                "no owner is named for it until one definition is removed",
            )
            definitions = self._definitions.setdefault(
                existing.ref, [Definition(existing.file, existing.line, existing.owner)]
            )
            definitions.append(Definition(entity.file, entity.line, entity.owner))
            return False
        entity.ref = self.share(entity.ref)
        self.entities[entity.ref] = entity
        return True

    def add_rotation(self, rotation: Rotation) -> None:
        self.rotations[rotation.ref] = rotation

    def expect_all(self, expectations: list[Expectation]) -> None:
        """References of an entity just added; checked (and linked when they flow) in `finish()`.

        Readers stage them and call this only once the entity is accepted, so a dropped
        duplicate never lends its references to the entity it collided with.
        """
        self._pending.extend(expectations)

    def add_edge(self, source: str, target: str, file: str, line: int, note: str) -> None:
        """A data-flow edge between nodes that are known to exist (lineage adds both ends).

        `note` explains it (see `graph.edges`: `=text`, or `<field`/`>field` for a reference).
        """
        self._edges.append((source, target, file, line, note))

    # -- linking ------------------------------------------------------------------------------

    def finish(self) -> Catalog:
        entities = self.entities
        self._link_group_tree()
        duplicates = {ref: tuple(found) for ref, found in self._definitions.items()}
        for ref in duplicates:  # which definition is right is not ours to guess
            entities[ref].owner = None
        self._definitions = {}
        table = EntityTable.from_entities(entities.values())
        edges = _EdgeLists(table.index)
        for source, target, file, line, note in self._edges:
            edges.add(source, target, file, line, note)
        self._edges = []
        for referrer, field, target, file, line, flow in self._pending:
            if target not in entities:
                if field == "owner":
                    message = f"owner {target} does not exist"
                else:
                    message = f"{field} refers to {target}, which does not exist"
                self.problem("warning", file, line, referrer, message)
            elif flow == "in":
                edges.add(target, referrer, file, line or 0, REFERRER_IS_TARGET + field)
            elif flow == "out":
                edges.add(referrer, target, file, line or 0, REFERRER_IS_SOURCE + field)
        self._pending = []
        self._canonical = {}
        for entity in entities.values():
            if entity.kind in OWNED_KINDS and entity.owner is None and entity.ref not in duplicates:
                self.problem("warning", entity.file, entity.line, entity.ref, "has no owner")
        self.entities = {}
        graph = edges.index(len(table))
        self._report_cycles(table, graph)
        return Catalog(table, graph, self.problems, self.rotations, duplicates=duplicates)

    def _link_group_tree(self) -> None:
        """Backstage lets either side state the parent/children link; make both sides agree."""
        entities = self.entities
        for group in [e for e in entities.values() if e.kind == "group"]:
            for child_ref in group.children:
                child = entities.get(child_ref)
                if child is not None and child.kind == "group" and child.parent is None:
                    child.parent = group.ref
            if group.parent:
                parent = entities.get(group.parent)
                if parent is not None and group.ref not in parent.children:
                    parent.children = (*parent.children, group.ref)

    def _report_cycles(self, table: EntityTable, graph: EdgeIndex) -> None:
        """One problem per cycle of data flow (strongly connected component or self-loop)."""
        refs = table.refs
        starts, targets = graph.lists("down")
        for component in cyclic_components(len(refs), starts, targets):
            start = min(component, key=refs.__getitem__)
            path = _cycle_through(start, set(component), starts, targets)
            edges = [
                starts[a] + targets[starts[a] : starts[a + 1]].index(b) for a, b in pairwise(path)
            ]
            origins = [
                graph.origin_text(e, refs[a], refs[b])
                for e, (a, b) in zip(edges, pairwise(path), strict=True)
            ]
            from_catalog = any(not graph.note_of(e).startswith(WHOLE_TEXT) for e in edges)
            line = table.column("line")[start]
            self.problem(
                "error" if from_catalog else "warning",
                table.files[table.column("file")[start]],
                line,
                refs[start],
                "data flows in a cycle: "
                + " → ".join(refs[row] for row in path)
                + " (edges: "
                + "; ".join(origins)
                + ")",
            )


class _EdgeLists:
    """Edges by row number as they are found, their files and notes each stored once."""

    def __init__(self, rows: dict[str, int]) -> None:
        self.rows = rows
        self.sources: list[int] = []
        self.targets: list[int] = []
        self.files: dict[str, int] = {}
        self.file_ids: list[int] = []
        self.lines: list[int] = []
        self.notes: dict[str, int] = {}
        self.note_ids: list[int] = []

    def add(self, source: str, target: str, file: str, line: int, note: str) -> None:
        self.sources.append(self.rows[source])
        self.targets.append(self.rows[target])
        self.file_ids.append(self.files.setdefault(file, len(self.files)))
        self.lines.append(line)
        self.note_ids.append(self.notes.setdefault(note, len(self.notes)))

    def index(self, size: int) -> EdgeIndex:
        return EdgeIndex.build(
            size,
            self.sources,
            self.targets,
            (self.file_ids, self.lines, self.note_ids),
            list(self.files),
            list(self.notes),
        )


def strongly_connected_components(graph: Mapping[str, Iterable[str]]) -> list[set[str]]:
    """Every strongly connected component of a graph given as {node: successors}."""
    nodes: dict[str, int] = {}
    for node, successors in graph.items():
        nodes.setdefault(node, len(nodes))
        for succ in successors:
            nodes.setdefault(succ, len(nodes))
    starts = [0]
    targets: list[int] = []
    for node in nodes:
        targets.extend(nodes[succ] for succ in graph.get(node, ()))
        starts.append(len(targets))
    names = list(nodes)
    alive = bytearray(b"\x01") * len(names)
    return [
        {names[row] for row in component}
        for component in _tarjan(range(len(names)), alive, starts, targets)
    ]


def cyclic_components(size: int, starts: Sequence[int], targets: Sequence[int]) -> list[list[int]]:
    """The components of rows that hold a cycle (several rows, or one row feeding itself).

    Rows that nothing feeds are peeled off first, repeatedly (Kahn's algorithm): in an acyclic
    catalog that is every row, and Tarjan's algorithm runs only on what is left.
    """
    indegree = [0] * size
    for target in targets:
        indegree[target] += 1
    alive = bytearray(b"\x01") * size
    free = [row for row in range(size) if indegree[row] == 0]
    while free:
        row = free.pop()
        alive[row] = 0
        for target in targets[starts[row] : starts[row + 1]]:
            indegree[target] -= 1
            if indegree[target] == 0:
                free.append(target)
    rest = [row for row in range(size) if alive[row]]
    if not rest:
        return []
    return [
        component
        for component in _tarjan(rest, alive, starts, targets)
        if len(component) > 1
        or component[0] in targets[starts[component[0]] : starts[component[0] + 1]]
    ]


def _tarjan(
    roots: Iterable[int], alive: bytearray, starts: Sequence[int], targets: Sequence[int]
) -> list[list[int]]:
    """Tarjan's algorithm over rows without recursion, so a million-row chain cannot overflow
    the stack; rows whose `alive` byte is 0 are left out."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    result: list[list[int]] = []
    counter = 0
    for root in roots:
        if root in index:
            continue
        work: list[tuple[int, list[int], int]] = [
            (root, [t for t in targets[starts[root] : starts[root + 1]] if alive[t]], 0)
        ]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors, i = work[-1]
            if i < len(successors):
                work[-1] = (node, successors, i + 1)
                succ = successors[i]
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    following = targets[starts[succ] : starts[succ + 1]]
                    work.append((succ, [t for t in following if alive[t]], 0))
                elif succ in on_stack:
                    low[node] = min(low[node], index[succ])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[int] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
    return result


def _cycle_through(
    start: int, component: set[int], starts: Sequence[int], targets: Sequence[int]
) -> list[int]:
    """The shortest path start → … → start inside one strongly connected component."""
    parents: dict[int, int] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for succ in targets[starts[node] : starts[node + 1]]:
            if succ == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if succ in component and succ not in parents:
                parents[succ] = node
                queue.append(succ)
    return [start, start]
