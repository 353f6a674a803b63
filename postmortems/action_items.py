"""Action items seeded from the facts, each with a proposed owner from the catalog.

Seeds, in this order: steps that failed (even if a retry then worked) or were left in doubt;
manual steps and steps settled by hand (candidates for automation); break-glass uses and lease
takeovers (the `override` events the runbook engine writes); catalog problems on the incident's
asset and everything downstream of it; affected assets with no owner that the catalog did not
already warn about; and a timeline whose hash chain did not verify.

The proposed owner is the catalog owner of the asset concerned, else the owner of its system;
never a person picked from the timeline, so the list stays about systems, not blame.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from graph.errors import GraphError
from postmortems.impact import owner_label
from postmortems.metrics import as_utc
from postmortems.model import ActionItem, ActionSource, AffectedAsset, ChainCheck, RunSummary
from postmortems.sources import EventLike, event_data, first_text

if TYPE_CHECKING:
    from graph.model import Catalog


def proposed_owner(catalog: Catalog, ref: str | None) -> tuple[str | None, str]:
    """Who should own work on `ref`, and why: its owner, else its system's owner."""
    if not ref:
        return None, "no asset to take an owner from"
    entity = catalog.get(ref)
    if entity is None:
        return None, f"{ref} is not in the catalog"
    if entity.owner:
        return entity.owner, f"owner of {entity.name}"
    if entity.system:
        system = catalog.get(entity.system)
        if system is not None and system.owner:
            return system.owner, f"owner of system {system.name}; {entity.name} has no owner"
    return None, f"{entity.name} has no owner in the catalog"


class _Seeds:
    """Action items in the order they were seeded, without duplicates."""

    def __init__(self, catalog: Catalog, default_asset: str | None) -> None:
        self.catalog = catalog
        self.default_asset = default_asset
        self.items: dict[tuple[str, str, str], ActionItem] = {}

    def add(
        self, source: ActionSource, what: str, asset: str | None, reference: str | None
    ) -> None:
        target = asset or self.default_asset
        entity = self.catalog.get(target) if target else None
        shown = entity.ref if entity else target
        key = (source, shown or "", what)
        if key in self.items:
            return
        owner, basis = proposed_owner(self.catalog, shown)
        label = owner_label(self.catalog, owner)
        self.items[key] = ActionItem(source, what, shown, owner, basis, reference, label)


def _run_asset(catalog: Catalog, run: RunSummary) -> str | None:
    """The asset a run worked on: its `asset` parameter, when the catalog knows it."""
    value = run.params.get("asset")
    if not isinstance(value, str) or not value:
        return None
    entity = catalog.get(value)
    if entity is None:
        try:
            entity = catalog.resolve(value)
        except GraphError:  # a parameter that names nothing: fall back to the incident's asset
            return None
    return entity.ref


def _from_runs(seeds: _Seeds, runs: Sequence[RunSummary]) -> None:
    for run in runs:
        if run.dry_run:
            continue
        asset = _run_asset(seeds.catalog, run)
        where = f"step {{}} of runbook {run.runbook_id}"
        for step in run.steps:
            at = where.format(step.step_id)
            if step.state == "in_doubt":
                seeds.add(
                    "failed-step",
                    f"Find out whether {at} took effect (it started and recorded no outcome), "
                    "and give it a check so a resume can tell",
                    asset,
                    run.id,
                )
            elif step.failures or step.state == "failed":
                retried = " (a retry then worked)" if step.state != "failed" else ""
                error = step.last_error or step.detail or "no error recorded"
                seeds.add(
                    "failed-step",
                    f"Find out why {at} failed{retried} and make it safe to retry: {error}",
                    asset,
                    run.id,
                )
            if step.manual and step.state == "done":
                seeds.add(
                    "manual-step",
                    f"Consider automating the manual {at}, or adding a check for it",
                    asset,
                    run.id,
                )
            elif step.by_hand:
                seeds.add(
                    "manual-step",
                    f"{at[0].upper()}{at[1:]} was settled by hand: make the runbook cover "
                    "this case, or give the step a check",
                    asset,
                    run.id,
                )


def _from_overrides(seeds: _Seeds, events: Sequence[EventLike]) -> None:
    for event in events:
        if event.kind != "override":
            continue
        data = event_data(event)
        when = f"{as_utc(event.at):%Y-%m-%d %H:%M} UTC"
        if "break_glass" in data:
            reason = first_text(data, ("break_glass", "reason"))
            assets = [a for a in data.get("assets") or () if isinstance(a, str)] or [None]
            for asset in assets:
                seeds.add(
                    "break-glass",
                    f"Review the break-glass use at {when} (reason given: {reason or 'none'}): "
                    "should the ownership or on-call rules cover whoever needs this step?",
                    asset,
                    f"event #{event.seq}",
                )
        else:
            reason = first_text(data, ("reason",))
            asset = data.get("asset") if isinstance(data.get("asset"), str) else None
            seeds.add(
                "lease-override",
                f"Review the lease takeover at {when} (reason given: {reason or 'none'}): was "
                "the earlier run still working, and is the lease time-to-live right?",
                asset,
                f"event #{event.seq}",
            )


def _relative(file: str, root: Path | None) -> str:
    if root is None or not file:
        return file
    try:
        return Path(file).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file


def _from_catalog(
    seeds: _Seeds, assets: Sequence[AffectedAsset], workspace_root: Path | None
) -> None:
    refs = {a.ref for a in assets}
    with_problems: set[str] = set()
    for problem in seeds.catalog.problems:
        entity = (problem.entity or "").lower()
        if entity not in refs:
            continue
        with_problems.add(entity)
        file = _relative(problem.file, workspace_root)
        seeds.add(
            "catalog-problem",
            f"Fix the catalog {problem.severity}: {problem.message}",
            entity,
            f"{file}:{problem.line}" if problem.line else file,
        )
    for asset in assets:
        if asset.owner is None and asset.ref not in with_problems:
            seeds.add(
                "missing-owner",
                f"Give {asset.name} an owner in the catalog, so the next on-call knows whom "
                "to call",
                asset.ref,
                None,
            )


def seed_action_items(
    catalog: Catalog,
    incident_asset: str | None,
    assets: Sequence[AffectedAsset],
    runs: Sequence[RunSummary],
    events: Sequence[EventLike],
    chain: ChainCheck,
    workspace_root: Path | None = None,
) -> tuple[ActionItem, ...]:
    """Every seeded action item, in the order the module docstring lists their sources."""
    seeds = _Seeds(catalog, incident_asset)
    _from_runs(seeds, runs)
    _from_overrides(seeds, events)
    _from_catalog(seeds, assets, workspace_root)
    if not chain.ok:
        at = f" at event #{chain.first_bad}" if chain.first_bad is not None else ""
        seeds.add(
            "chain-broken",
            f"Find out why the timeline's hash chain breaks{at}: {chain.reason or 'no reason'}",
            None,
            None,
        )
    return tuple(seeds.items.values())
