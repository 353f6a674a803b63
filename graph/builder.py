"""Assembling a Catalog from what the readers found: references are checked only at the end.

Why deferred: an entity may name one that a later file defines, so existence checks, data-flow
edges, owner checks and cycle detection all run once in `finish()`, in time linear in the size of
the catalog. The readers (`graph.backstage`, `graph.lineage`) only add entities, problems and
pending references.
"""

from __future__ import annotations

from collections import deque
from itertools import pairwise
from typing import Literal

from graph.model import Catalog, Entity, Problem, Rotation, Severity

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


class CatalogBuilder:
    """Collects entities and problems from every input file, then links them in `finish()`."""

    def __init__(self) -> None:
        self.catalog = Catalog()
        self._pending: list[Expectation] = []

    # -- what readers call ---------------------------------------------------------------------

    def problem(
        self, severity: Severity, file: str, line: int | None, entity: str | None, message: str
    ) -> None:
        self.catalog.problems.append(Problem(severity, file, line, entity, message))

    def add_entity(self, entity: Entity) -> bool:
        """Add a new entity; a second definition of the same ref is an error and is dropped."""
        existing = self.catalog.entities.get(entity.ref)
        if existing is not None:
            self.problem(
                "error",
                entity.file,
                entity.line,
                entity.ref,
                f"duplicate entity: already defined at {existing.file}:{existing.line}",
            )
            return False
        self.catalog.entities[entity.ref] = entity
        return True

    def add_rotation(self, rotation: Rotation) -> None:
        self.catalog.rotations[rotation.ref] = rotation

    def expect_all(self, expectations: list[Expectation]) -> None:
        """References of an entity just added; checked (and linked when they flow) in `finish()`.

        Readers stage them and call this only once the entity is accepted, so a dropped
        duplicate never lends its references to the entity it collided with.
        """
        self._pending.extend(expectations)

    def add_edge(self, source: str, target: str, origin: str) -> None:
        """A data-flow edge between nodes that are known to exist (lineage adds both ends)."""
        self.catalog.add_edge(source, target, origin)

    # -- linking ------------------------------------------------------------------------------

    def finish(self) -> Catalog:
        catalog = self.catalog
        entities = catalog.entities
        for referrer, field, target, file, line, flow in self._pending:
            if target not in entities:
                if field == "owner":
                    message = f"owner {target} does not exist"
                else:
                    message = f"{field} refers to {target}, which does not exist"
                self.problem("warning", file, line, referrer, message)
                continue
            if flow == "in":
                catalog.add_edge(target, referrer, f"{file}:{line} ({referrer} {field} {target})")
            elif flow == "out":
                catalog.add_edge(referrer, target, f"{file}:{line} ({referrer} {field} {target})")
        self._pending = []
        self._link_group_tree()
        for entity in entities.values():
            if entity.kind in OWNED_KINDS and entity.owner is None:
                self.problem("warning", entity.file, entity.line, entity.ref, "has no owner")
        self._report_cycles()
        catalog.reindex()
        return catalog

    def _link_group_tree(self) -> None:
        """Backstage lets either side state the parent/children link; make both sides agree."""
        entities = self.catalog.entities
        for group in [e for e in entities.values() if e.kind == "group"]:
            for child_ref in group.children:
                child = entities.get(child_ref)
                if child is not None and child.kind == "group" and child.parent is None:
                    child.parent = group.ref
            if group.parent:
                parent = entities.get(group.parent)
                if parent is not None and group.ref not in parent.children:
                    parent.children = (*parent.children, group.ref)

    def _report_cycles(self) -> None:
        """One problem per cycle of data flow (strongly connected component or self-loop)."""
        downstream = self.catalog.downstream
        for component in strongly_connected_components(downstream):
            if len(component) == 1:
                (node,) = component
                if node not in downstream.get(node, {}):
                    continue
            path = _cycle_through(min(component), component, downstream)
            origins = [downstream[a][b] for a, b in pairwise(path)]
            from_catalog = any(LINEAGE_ORIGIN not in origin for origin in origins)
            start = self.catalog.entities.get(path[0])
            self.problem(
                "error" if from_catalog else "warning",
                start.file if start else "",
                start.line if start else None,
                path[0],
                "data flows in a cycle: "
                + " → ".join(path)
                + " (edges: "
                + "; ".join(origins)
                + ")",
            )


def strongly_connected_components(graph: dict[str, dict[str, str]]) -> list[set[str]]:
    """Tarjan's algorithm without recursion, so a million-node chain cannot overflow the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[set[str]] = []
    counter = 0
    for root in list(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str], int]] = [(root, list(graph.get(root, ())), 0)]
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
                    work.append((succ, list(graph.get(succ, ())), 0))
                elif succ in on_stack:
                    low[node] = min(low[node], index[succ])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                result.append(component)
    return result


def _cycle_through(start: str, component: set[str], graph: dict[str, dict[str, str]]) -> list[str]:
    """The shortest path start → … → start inside one strongly connected component."""
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for succ in graph.get(node, {}):
            if succ == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if succ in component and succ not in parents:
                parents[succ] = node
                queue.append(succ)
    return [start, start]
