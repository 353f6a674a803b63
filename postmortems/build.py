"""Building a `PostmortemDraft` from the store (incident, timeline, runs, ledger, chain check) and
the catalog (blast radius, owners, problems).

`build_draft` does the reading; `assemble_draft` is pure over what was read, so the rules (what
counts as a failed step, which action items are seeded, who is proposed as owner) are tested on
plain values and the same rules serve the CLI, the TUI preview and `--json`.

Blameless by construction: a person's name only ever comes from an event's `actor`, a run's
operator or the incident's commander field, and is shown as who did what, never in a sentence
that judges. Proposed owners of action items are the catalog owners of the assets concerned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from graph.errors import GraphError
from graph.queries import blast_radius
from postmortems.metrics import (
    AlertFact,
    as_utc,
    compute_metrics,
    find_moments,
    format_duration,
    impact_duration,
)
from postmortems.model import (
    ActionItem,
    AffectedAsset,
    AssetGroup,
    ChainCheck,
    Detection,
    Impact,
    IncidentFacts,
    PostmortemDraft,
    Prompt,
    RunSummary,
    StepOutcome,
    StepState,
    TimelineRow,
)

if TYPE_CHECKING:
    from graph.model import Catalog, Entity


class IncidentLike(Protocol):
    id: str
    title: str
    severity: str
    status: str
    asset: str
    commander: str | None
    opened_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None


class EventLike(Protocol):
    seq: int
    at: datetime
    actor: str
    kind: str
    message: str
    data: Mapping[str, Any] | None


class RunLike(Protocol):
    id: str
    runbook_id: str
    version: int
    params: Mapping[str, Any]
    operator: str
    dry_run: bool
    status: str


class LedgerLike(Protocol):
    step_id: str
    status: str
    rendered: Mapping[str, Any]
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class ChainLike(Protocol):
    ok: bool
    count: int
    first_bad: int | None
    reason: str | None


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

ROOT_CAUSE_PROMPTS: tuple[Prompt, ...] = (
    Prompt(
        "Trigger",
        "What changed or happened just before the first alert? Point at the timeline rows above.",
    ),
    Prompt(
        "Conditions",
        "Which conditions in the system let that trigger cause this impact (missing guards, "
        "non-idempotent steps, unclear ownership, alerts that came late)? Ask 'why' until the "
        "answer is about the system, not about a person.",
    ),
)
LESSONS_PROMPTS: tuple[Prompt, ...] = (
    Prompt("What went well", "Which tools, runbooks, alerts or habits shortened this incident?"),
    Prompt(
        "What went wrong", "Where did the system, the runbooks or the catalog make work harder?"
    ),
    Prompt("Where we got lucky", "What could have made this much worse, and did not by chance?"),
)

_STEP_EVENT_STATES: dict[str, StepState] = {
    "step_started": "started",
    "step_done": "done",
    "step_failed": "failed",
    "step_skipped": "skipped",
}
_LEDGER_STATES: dict[str, StepState] = {
    "started": "started",
    "done": "done",
    "failed": "failed",
    "in_doubt": "in_doubt",
}


def build_draft(
    store: Any,
    catalog: Catalog,
    incident_id: str,
    now: datetime | None = None,
    *,
    workspace_root: Path | None = None,
) -> PostmortemDraft:
    """Read everything the draft needs from the store and assemble it with the catalog.

    `workspace_root`, when given, makes catalog file names in action items relative to it, so a
    draft committed to the team's repository names files the way the repository does."""
    incident = store.get_incident(incident_id)
    events = store.events(incident.id)
    runs = store.list_runs(incident_id=incident.id)
    ledger = {run.id: store.ledger_for_run(run.id) for run in runs}
    chain = store.verify(incident.id)
    return assemble_draft(
        incident, events, runs, ledger, chain, catalog, now=now, workspace_root=workspace_root
    )


def assemble_draft(
    incident: IncidentLike,
    events: Sequence[EventLike],
    runs: Sequence[RunLike],
    ledger: Mapping[str, Sequence[LedgerLike]],
    chain: ChainLike,
    catalog: Catalog,
    now: datetime | None = None,
    *,
    workspace_root: Path | None = None,
) -> PostmortemDraft:
    """The draft from values already read; pure, so every rule is testable without a database."""
    generated_at = as_utc(now) if now else datetime.now(UTC)
    ordered = sorted(events, key=lambda e: e.seq)
    source_entity, source_missing = _source_entity(catalog, incident.asset)
    source_ref = source_entity.ref if source_entity else incident.asset
    affected = _affected(catalog, source_entity)

    moments = find_moments(
        incident.opened_at,
        incident.acknowledged_at,
        incident.mitigated_at,
        incident.resolved_at,
        (AlertFact(e.at, _data(e)) for e in ordered if e.kind == "alert"),
    )
    metrics = compute_metrics(moments)
    duration = impact_duration(moments, generated_at)

    source = _affected_asset(catalog, source_entity, 0, (source_ref,)) if source_entity else None
    groups = _group_by_type(affected)
    models = tuple(a.ref for a in ([source] if source else []) + affected if a.type == "model")
    feeds = tuple(a.ref for a in ([source] if source else []) + affected if a.type == "feed")
    impact = Impact(
        source=source,
        source_missing=source_missing,
        groups=groups,
        total=len(affected),
        models=models,
        feeds=feeds,
        duration=duration,
    )

    timeline = tuple(
        TimelineRow(e.seq, as_utc(e.at), e.actor, e.kind, e.message or "") for e in ordered
    )
    detection = _detection(incident, ordered, timeline)
    run_summaries = tuple(_run_summary(run, ledger.get(run.id, ()), ordered) for run in runs)
    chain_check = ChainCheck(bool(chain.ok), chain.count, chain.first_bad, chain.reason)

    facts = IncidentFacts(
        id=incident.id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        asset=source_ref,
        asset_label=source_entity.label if source_entity else incident.asset,
        commander=incident.commander,
        opened_at=as_utc(incident.opened_at),
        acknowledged_at=moments.acknowledged_at,
        mitigated_at=moments.mitigated_at,
        resolved_at=moments.resolved_at,
    )
    affected_refs = {source_ref, *(a.ref for a in affected)}
    items = _action_items(
        catalog, source, affected, run_summaries, runs, ordered, chain_check, workspace_root
    )
    problems_on_affected = sum(
        1 for p in catalog.problems if p.entity and p.entity.lower() in affected_refs
    )
    summary = _summary(facts, impact, detection, run_summaries, metrics)
    return PostmortemDraft(
        incident=facts,
        generated_at=generated_at,
        summary=summary,
        impact=impact,
        timeline=timeline,
        detection=detection,
        runs=run_summaries,
        metrics=metrics,
        root_cause=ROOT_CAUSE_PROMPTS,
        lessons=LESSONS_PROMPTS,
        action_items=items,
        chain=chain_check,
        catalog_problems_total=problems_on_affected,
        notes=moments.problems,
    )


# -- impact ------------------------------------------------------------------------------------


def _source_entity(catalog: Catalog, asset: str) -> tuple[Entity | None, str | None]:
    entity = catalog.get(asset)
    if entity is not None:
        return entity, None
    try:
        return catalog.resolve(asset), None
    except GraphError as exc:
        return None, f"not in the catalog ({exc}); the blast radius is unknown"


def _owner_label(catalog: Catalog, owner: str | None) -> str | None:
    if owner is None:
        return None
    entity = catalog.get(owner)
    return entity.label if entity else owner


def _affected_asset(
    catalog: Catalog, entity: Entity, hops: int, path: Sequence[str]
) -> AffectedAsset:
    return AffectedAsset(
        ref=entity.ref,
        name=entity.name,
        title=entity.title,
        type=entity.type or entity.kind,
        hops=hops,
        path=tuple(path),
        owner=entity.owner,
        owner_label=_owner_label(catalog, entity.owner),
    )


def _affected(catalog: Catalog, source: Entity | None) -> list[AffectedAsset]:
    if source is None:
        return []
    out: list[AffectedAsset] = []
    for hit in blast_radius(catalog, source.ref):
        entity = catalog.get(hit.ref)
        if entity is None:  # lineage-only node the catalog does not describe
            name = hit.ref.rsplit("/", 1)[-1]
            out.append(
                AffectedAsset(
                    hit.ref,
                    name,
                    None,
                    hit.type,
                    hit.hops,
                    tuple(hit.path),
                    hit.owner,
                    _owner_label(catalog, hit.owner),
                )
            )
        else:
            out.append(_affected_asset(catalog, entity, hit.hops, hit.path))
    return out


def _type_key(asset_type: str | None) -> tuple[int, str]:
    if asset_type in TYPE_ORDER:
        return (TYPE_ORDER.index(asset_type), "")
    return (len(TYPE_ORDER) + (1 if asset_type is None else 0), asset_type or "")


def _group_by_type(affected: Iterable[AffectedAsset]) -> tuple[AssetGroup, ...]:
    groups: dict[str | None, list[AffectedAsset]] = {}
    for asset in affected:
        groups.setdefault(asset.type, []).append(asset)
    out = []
    for asset_type in sorted(groups, key=_type_key):
        assets = sorted(groups[asset_type], key=lambda a: (a.hops, a.ref))
        label = "Without a type" if asset_type is None else TYPE_LABELS.get(asset_type, asset_type)
        out.append(AssetGroup(asset_type, label, tuple(assets)))
    return tuple(out)


# -- detection and response --------------------------------------------------------------------


def _data(event: EventLike) -> Mapping[str, Any]:
    data = event.data
    return data if isinstance(data, Mapping) else {}


def _statuses_reached(event: EventLike) -> set[str]:
    """The statuses a `status` event moved through: its `to` and the stages it `implied`."""
    data = _data(event)
    reached = {str(s).lower() for s in data.get("implied") or () if isinstance(s, str)}
    if isinstance(data.get("to"), str):
        reached.add(data["to"].lower())
    return reached


def _detection(
    incident: IncidentLike, events: Sequence[EventLike], timeline: Sequence[TimelineRow]
) -> Detection:
    alerts = [e for e in events if e.kind == "alert"]
    first = alerts[0] if alerts else None
    ack_by = None
    for event in events:
        if event.kind == "status" and "acknowledged" in _statuses_reached(event):
            ack_by = event.actor
            break
    pages = tuple(row for row, e in zip(timeline, events, strict=True) if e.kind == "page")
    return Detection(
        first_alert_at=as_utc(first.at) if first else None,
        first_alert=first.message if first else None,
        first_alert_actor=first.actor if first else None,
        alerts=len(alerts),
        acknowledged_at=as_utc(incident.acknowledged_at) if incident.acknowledged_at else None,
        acknowledged_by=ack_by,
        pages=pages,
    )


def _is_manual(rendered: Mapping[str, Any] | None) -> bool:
    if not rendered:
        return False
    action = rendered.get("action")
    kind = action.get("type") if isinstance(action, Mapping) else rendered.get("type")
    return kind == "manual"


@dataclass
class _StepAccumulator:
    step_id: str
    title: str | None = None
    state: StepState = "started"
    actor: str | None = None
    at: datetime | None = None
    detail: str | None = None
    manual: bool = False
    last_error: str | None = None
    ledger_failures: int = 0
    event_failures: int = 0


def _run_summary(
    run: RunLike, ledger: Sequence[LedgerLike], events: Sequence[EventLike]
) -> RunSummary:
    """Each step's last state in this run: ledger rows first, then the run's step events in
    timeline order (events win: they also record skips, which leave no ledger row)."""
    steps: dict[str, _StepAccumulator] = {}
    for entry in sorted(ledger, key=lambda e: as_utc(e.started_at)):
        acc = steps.setdefault(entry.step_id, _StepAccumulator(entry.step_id))
        acc.state = _LEDGER_STATES.get(entry.status, "started")
        if acc.state == "started" and run.status != "running":
            acc.state = "in_doubt"  # intent written, run over, no outcome: may or may not have run
        acc.at = as_utc(entry.finished_at or entry.started_at)
        acc.manual = acc.manual or _is_manual(entry.rendered)
        if entry.status == "failed":
            acc.detail = entry.error
            acc.last_error = entry.error
            acc.ledger_failures += 1
    for event in events:
        state = _STEP_EVENT_STATES.get(event.kind)
        data = _data(event)
        if state is None or data.get("run_id") != run.id or not data.get("step_id"):
            continue
        step_id = str(data["step_id"])
        acc = steps.setdefault(step_id, _StepAccumulator(step_id))
        acc.state = state
        acc.actor = event.actor
        acc.at = as_utc(event.at)
        title = data.get("title") or data.get("step_title")
        if isinstance(title, str):
            acc.title = title
        action_type = data.get("action_type") or data.get("type")
        acc.manual = acc.manual or action_type == "manual"
        if state in ("failed", "skipped"):
            acc.detail = _first_text(data, ("error", "reason")) or event.message or None
        elif state == "done":
            acc.detail = None
        if state == "failed":
            acc.last_error = acc.detail
            acc.event_failures += 1
    outcomes = tuple(
        StepOutcome(
            step_id=a.step_id,
            title=a.title,
            state=a.state,
            actor=a.actor or (run.operator if a.state != "skipped" else None),
            at=a.at,
            detail=a.detail,
            manual=a.manual,
            failures=max(a.ledger_failures, a.event_failures),
            last_error=a.last_error,
        )
        for a in steps.values()
    )
    return RunSummary(
        id=run.id,
        runbook_id=run.runbook_id,
        version=run.version,
        operator=run.operator,
        status=run.status,
        dry_run=bool(run.dry_run),
        params=dict(run.params or {}),
        steps=outcomes,
    )


def _first_text(data: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


# -- action items ------------------------------------------------------------------------------


def _owner_of(catalog: Catalog, ref: str | None) -> tuple[str | None, str]:
    """The proposed owner for work on `ref`: its catalog owner, else its system's owner."""
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
            return system.owner, f"owner of system {system.name}, {entity.name} has no owner"
    return None, f"{entity.name} has no owner in the catalog"


def _run_asset(run: RunLike | None, fallback: str | None) -> str | None:
    if run is not None:
        value = (run.params or {}).get("asset")
        if isinstance(value, str) and value:
            return value.lower() if ":" in value else value
    return fallback


def _action_items(
    catalog: Catalog,
    source: AffectedAsset | None,
    affected: Sequence[AffectedAsset],
    runs: Sequence[RunSummary],
    raw_runs: Sequence[RunLike],
    events: Sequence[EventLike],
    chain: ChainCheck,
    workspace_root: Path | None,
) -> tuple[ActionItem, ...]:
    items: dict[tuple[str, str, str], ActionItem] = {}
    source_ref = source.ref if source else None

    def add(source_kind: Any, what: str, asset: str | None, reference: str | None) -> None:
        owner, basis = _owner_of(catalog, asset or source_ref)
        entity = catalog.get(asset) if asset else None
        shown_asset = entity.ref if entity else asset
        key = (source_kind, shown_asset or "", what)
        if key not in items:
            label = _owner_label(catalog, owner)
            items[key] = ActionItem(source_kind, what, shown_asset, owner, basis, reference, label)

    runs_by_id = {r.id: r for r in raw_runs}
    for run in runs:
        asset = _run_asset(runs_by_id.get(run.id), source_ref)
        for step in run.steps:
            if step.state == "in_doubt":
                add(
                    "failed-step",
                    f"Find out whether step {step.step_id} of runbook {run.runbook_id} took "
                    "effect (it started and recorded no outcome) and give it a check",
                    asset,
                    run.id,
                )
            elif step.failures or step.state == "failed":
                retried = " (it succeeded when retried)" if step.state != "failed" else ""
                add(
                    "failed-step",
                    f"Find out why step {step.step_id} of runbook {run.runbook_id} failed"
                    f"{retried}: {step.last_error or step.detail or 'no error recorded'}",
                    asset,
                    run.id,
                )
            if step.manual and step.state == "done" and not run.dry_run:
                add(
                    "manual-step",
                    f"Consider automating manual step {step.step_id} of runbook {run.runbook_id}",
                    asset,
                    run.id,
                )
    for event in events:
        data = _data(event)
        if event.kind not in ("override", "lease"):
            continue
        is_lease = event.kind == "lease" or "lease" in data or "previous" in data
        forced = event.kind == "override" or bool(data.get("forced") or data.get("force"))
        if not forced:
            continue
        asset = data.get("asset") if isinstance(data.get("asset"), str) else None
        reason = _first_text(data, ("reason",))
        why = f" (reason given: {reason})" if reason else ""
        if is_lease:
            add(
                "lease-override",
                f"Review the lease takeover at {as_utc(event.at):%Y-%m-%d %H:%M} UTC{why}: was "
                "the earlier run still working, and should leases expire sooner or later?",
                asset,
                f"event #{event.seq}",
            )
        else:
            add(
                "break-glass",
                f"Review the break-glass use at {as_utc(event.at):%Y-%m-%d %H:%M} UTC{why}: "
                "should the ownership or on-call rules cover whoever needs this step at 3 AM?",
                asset,
                f"event #{event.seq}",
            )
    refs = ([source] if source else []) + list(affected)
    by_ref = {a.ref: a for a in refs}
    for problem in catalog.problems:
        if not problem.entity or problem.entity.lower() not in by_ref:
            continue
        file = _relative(problem.file, workspace_root)
        where = f"{file}:{problem.line}" if problem.line else file
        add(
            "catalog-problem",
            f"Fix the catalog {problem.severity}: {problem.message}",
            problem.entity.lower(),
            where,
        )
    with_problems = {key[1] for key in items if key[0] == "catalog-problem"}
    for asset in refs:
        if asset.owner is None and asset.ref not in with_problems:
            add(
                "missing-owner",
                f"Give {asset.name} an owner in the catalog, so the next on-call knows whom to call",
                asset.ref,
                None,
            )
    if not chain.ok:
        at = f" at event #{chain.first_bad}" if chain.first_bad is not None else ""
        add(
            "chain-broken",
            f"Find out why the timeline's hash chain breaks{at}: {chain.reason or 'unknown'}",
            source_ref,
            None,
        )
    return tuple(items.values())


def _relative(file: str, root: Path | None) -> str:
    if root is None or not file:
        return file
    try:
        return Path(file).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file


# -- summary -----------------------------------------------------------------------------------


def _summary(
    facts: IncidentFacts,
    impact: Impact,
    detection: Detection,
    runs: Sequence[RunSummary],
    metrics: Sequence[Any],
) -> tuple[str, ...]:
    """Facts in sentences, for the reader in a hurry; the authors write the real summary."""
    lines = [
        f"{facts.severity} incident {facts.id} on {facts.asset_label}, opened "
        f"{facts.opened_at:%Y-%m-%d %H:%M} UTC; status now: {facts.status}."
    ]
    if detection.first_alert_at:
        lines.append(
            f"First alert {detection.first_alert_at:%Y-%m-%d %H:%M} UTC: {detection.first_alert}"
        )
    else:
        lines.append("No alert was recorded on the timeline.")
    if impact.source is None:
        lines.append(f"The asset {facts.asset} is not in the catalog: the blast radius is unknown.")
    else:
        lines.append(
            f"{impact.total} downstream asset{'s' if impact.total != 1 else ''} in the blast "
            f"radius: {len(impact.models)} model{'s' if len(impact.models) != 1 else ''}, "
            f"{len(impact.feeds)} feed{'s' if len(impact.feeds) != 1 else ''}."
        )
    real_runs = [r for r in runs if not r.dry_run]
    if real_runs:
        counts: dict[str, int] = {}
        for run in real_runs:
            for state, n in run.counts.items():
                counts[state] = counts.get(state, 0) + n
        lines.append(
            f"{len(real_runs)} runbook run{'s' if len(real_runs) != 1 else ''}: "
            f"{counts.get('done', 0)} step{'s' if counts.get('done', 0) != 1 else ''} ran, "
            f"{counts.get('skipped', 0)} skipped, {counts.get('failed', 0)} failed."
        )
    else:
        lines.append("No runbook was run for real against this incident.")
    ttr = next((m for m in metrics if m.key == "ttr"), None)
    if ttr is not None and ttr.seconds is not None:
        lines.append(f"Resolved {format_duration(ttr.seconds)} after detection.")
    return tuple(lines)
