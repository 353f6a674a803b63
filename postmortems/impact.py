"""Impact: the incident's asset, everything downstream of it (the catalog's blast radius) grouped
by asset type with owners, the models and feeds among them, and how long the impact lasted; and,
when the run history can tell, which of them did read the bad data (contaminated) and which are
merely downstream (`with_contamination`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from graph.errors import GraphError
from graph.queries import blast_radius
from postmortems.model import (
    AffectedAsset,
    AssetGroup,
    CleanRow,
    ContaminatedRow,
    Impact,
    Span,
)

if TYPE_CHECKING:
    from graph.contamination import Contamination
    from graph.model import Catalog, Entity

# The order in which affected assets are grouped: the way data flows on an ML platform, so the
# reader meets the stores before the models they feed. Other types follow alphabetically.
TYPE_ORDER: tuple[str, ...] = (
    "data-source",
    "pipeline",
    "training-store",
    "feature-store",
    "model",
    "deployment",
    "feed",
    "service",
    "api",
    "dashboard",
)
TYPE_LABELS: dict[str, str] = {
    "data-source": "Data sources",
    "pipeline": "Pipelines",
    "training-store": "Training stores",
    "feature-store": "Feature stores",
    "model": "Models",
    "deployment": "Deployments",
    "feed": "Feeds",
    "service": "Services",
    "api": "APIs",
    "dashboard": "Dashboards",
    "dataset": "Datasets",
    "job": "Jobs",
}


def source_entity(catalog: Catalog, asset: str) -> tuple[Entity | None, str | None]:
    """The catalog entity the incident is about, or None and why (renamed, removed, typo)."""
    entity = catalog.get(asset)
    if entity is not None:
        return entity, None
    try:
        return catalog.resolve(asset), None
    except GraphError as exc:
        return None, f"not in the catalog ({exc}); the blast radius is unknown"


def owner_label(catalog: Catalog, owner: str | None) -> str | None:
    """What a reader calls the owner: its title or display name, else its ref."""
    if owner is None:
        return None
    entity = catalog.get(owner)
    return entity.label if entity else owner


def _asset(catalog: Catalog, entity: Entity, hops: int, path: Sequence[str]) -> AffectedAsset:
    return AffectedAsset(
        ref=entity.ref,
        name=entity.name,
        title=entity.title,
        type=entity.type or entity.kind,
        hops=hops,
        path=tuple(path),
        owner=entity.owner,
        owner_label=owner_label(catalog, entity.owner),
    )


def affected_assets(catalog: Catalog, source: Entity | None) -> list[AffectedAsset]:
    """The blast radius of `source`, nearest first, each with the path that explains it."""
    if source is None:
        return []
    out: list[AffectedAsset] = []
    for hit in blast_radius(catalog, source.ref):
        entity = catalog.get(hit.ref)
        if entity is not None:
            out.append(_asset(catalog, entity, hit.hops, hit.path))
            continue
        out.append(  # a lineage-only node that no descriptor describes
            AffectedAsset(
                ref=hit.ref,
                name=hit.ref.rsplit("/", 1)[-1],
                title=None,
                type=hit.type,
                hops=hit.hops,
                path=tuple(hit.path),
                owner=hit.owner,
                owner_label=owner_label(catalog, hit.owner),
            )
        )
    return out


def _type_key(asset_type: str | None) -> tuple[int, str]:
    if asset_type in TYPE_ORDER:
        return (TYPE_ORDER.index(asset_type), "")
    return (len(TYPE_ORDER) + (1 if asset_type is None else 0), asset_type or "")


def group_by_type(affected: Iterable[AffectedAsset]) -> tuple[AssetGroup, ...]:
    groups: dict[str | None, list[AffectedAsset]] = {}
    for asset in affected:
        groups.setdefault(asset.type, []).append(asset)
    out = []
    for asset_type in sorted(groups, key=_type_key):
        assets = sorted(groups[asset_type], key=lambda a: (a.hops, a.ref))
        if asset_type is None:
            label = "Without a type"
        else:
            label = TYPE_LABELS.get(asset_type, asset_type[:1].upper() + asset_type[1:])
        out.append(AssetGroup(asset_type, label, tuple(assets)))
    return tuple(out)


def build_impact(catalog: Catalog, incident_asset: str, duration: Span) -> Impact:
    """The Impact section for an incident on `incident_asset` (a ref, or a name as recorded)."""
    entity, missing = source_entity(catalog, incident_asset)
    source = _asset(catalog, entity, 0, (entity.ref,)) if entity else None
    affected = affected_assets(catalog, entity)
    everything = ([source] if source else []) + affected
    return Impact(
        source=source,
        source_missing=missing,
        groups=group_by_type(affected),
        total=len(affected),
        models=tuple(a.ref for a in everything if a.type == "model"),
        feeds=tuple(a.ref for a in everything if a.type == "feed"),
        duration=duration,
    )


def with_contamination(impact: Impact, catalog: Catalog, analysis: Contamination) -> Impact:
    """The Impact with what the run history says did read the bad data, and what did not."""
    contaminated = tuple(
        ContaminatedRow(
            ref=c.ref,
            type=_type_of(catalog, c.ref),
            hops=c.hops,
            owner_label=owner_label(catalog, c.owner),
            versions=tuple(c.versions),
        )
        for c in analysis.contaminated
    )
    clean = tuple(
        CleanRow(
            ref=c.ref,
            type=_type_of(catalog, c.ref),
            owner_label=owner_label(catalog, c.owner),
            reason=c.reason,
        )
        for c in analysis.clean
    )
    return replace(impact, contaminated=contaminated, clean=clean, analysed=True)


def _type_of(catalog: Catalog, ref: str) -> str | None:
    entity = catalog.get(ref)
    return (entity.type or entity.kind) if entity else None
