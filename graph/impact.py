"""An incident's asset, what it feeds, who answers for each piece and who to page: composed once.

`oncall impact`, paging (`runbooks.paging`), the app's incident screen and its owner lookup all
ask this; each used to compose the blast radius, the owners and the page list on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from graph.model import Catalog, Entity
from graph.queries import (
    OnCall,
    Ownership,
    PageTarget,
    Reach,
    Unpaged,
    blast_radius,
    current_on_call,
    owners,
    person,
    rotation_for,
    unpaged,
    who_to_page,
)


@dataclass(frozen=True, slots=True)
class TeamOnCall:
    """One owner of something in the blast radius, who answers for it now, and how many of the
    incident's assets it owns."""

    team: str
    on_call: OnCall | None
    asset_count: int


@dataclass(frozen=True, slots=True)
class Impact:
    """An asset, what it feeds (a lazy `Reach`), the owners concerned, and the people to page."""

    asset: Entity
    affected: Reach
    teams: list[TeamOnCall]
    page: list[PageTarget]
    unpaged: list[Unpaged]

    @property
    def refs(self) -> list[str]:
        """The asset, then everything it feeds, nearest first."""
        return [self.asset.ref, *self.affected.refs()]


def impact(catalog: Catalog, ref: str, at: datetime, depth: int | None = None) -> Impact:
    """Blast radius (within `depth` hops when given), the owners concerned with who is on call
    for each at `at`, who to page (each person once) and the pieces nobody is paged for."""
    entity = catalog.get(ref) or catalog.resolve(ref)
    affected = blast_radius(catalog, entity.ref, depth)
    refs = [entity.ref, *affected.refs()]
    by_owner: dict[str, list[str]] = {}
    for asset, owner in zip(refs, [entity.owner, *affected.owners()], strict=True):
        if owner:
            by_owner.setdefault(owner, []).append(asset)
    teams = [
        TeamOnCall(owner, owners(catalog, assets[0], at).on_call, len(assets))
        for owner, assets in by_owner.items()
    ]
    return Impact(entity, affected, teams, who_to_page(catalog, refs, at), unpaged(catalog, refs))


def answerers(catalog: Catalog, ref: str, at: datetime) -> Ownership:
    """Who answers for an entity: for an asset its owners (`queries.owners`); for a team, the
    team itself as owner, its members, its rotation's person on call at `at` and escalation."""
    entity = catalog.get(ref) or catalog.resolve(ref)
    if entity.kind != "group":
        return owners(catalog, entity.ref, at)
    members = [person(catalog, m) for m in catalog.group_members.get(entity.ref, [])]
    rotation = rotation_for(catalog, entity.ref)
    if rotation is None:
        return Ownership(entity.ref, entity.ref, members, None, [])
    return Ownership(
        entity.ref,
        entity.ref,
        members,
        current_on_call(catalog, rotation, at),
        [step.ref for step in rotation.escalation],
    )
