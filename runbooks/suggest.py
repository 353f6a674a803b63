"""Which runbooks to offer for an incident's asset, in the order an operator should read them.

The asset's own runbooks first, then those of the assets it feeds, nearest first: the damage
downstream (a model trained on bad data) needs its own recovery too. Vetted before unvetted at
each distance; at most `RUNBOOK_SUGGESTIONS`, reading the blast radius only as far as needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from graph.model import Catalog, Entity
from runbooks.library import Library

#: How many runbooks the incident screen suggests at most (the asset's, then downstream ones).
RUNBOOK_SUGGESTIONS = 20


class Reached(Protocol):
    """An item of a blast radius (`graph.queries.Affected`): where it is and how far."""

    @property
    def ref(self) -> str: ...
    @property
    def hops(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A runbook as the lists show it: vetted or not, in words, and the asset it would run on."""

    id: str
    title: str
    version: int
    state: str  # vetted | changed | unlisted
    asset: str | None = None
    hops: int = 0  # how far that asset is from the incident's asset

    @property
    def vetted(self) -> bool:
        return self.state == "vetted"

    @property
    def key(self) -> str:
        """Unique in a list: the same runbook may apply to several affected assets."""
        return f"{self.id}@{self.asset}" if self.asset else self.id


def suggest_runbooks(
    library: Library,
    catalog: Catalog,
    entity: Entity,
    affected: Iterable[Reached] = (),
    limit: int = RUNBOOK_SUGGESTIONS,
) -> list[Suggestion]:
    """Valid runbooks for `entity`, then for the assets of `affected` (nearest first)."""

    def targets() -> Iterator[tuple[Entity, int]]:
        yield entity, 0
        for item in affected:
            other = catalog.get(item.ref)
            if other is not None and other.is_asset:
                yield other, item.hops

    found: list[Suggestion] = []
    for target, hops in targets():
        here = [
            Suggestion(
                e.runbook.id, e.runbook.spec.title, e.runbook.version, e.state, target.ref, hops
            )
            for e in library.for_asset(target)
            if e.runbook is not None
        ]
        found.extend(sorted(here, key=lambda s: (not s.vetted, s.id)))
        if len(found) >= limit:
            break
    return found[:limit]
