"""Building a `PostmortemDraft` from the store (incident, timeline, runs, ledger, chain check) and
the catalog (blast radius, owners, problems).

`build_draft` does the reading; `assemble_draft` is pure over what was read, so the rules (in
`impact`, `response`, `metrics`, `action_items`) are tested on plain values, and the CLI, the
TUI preview and `--json` all show the same content.

Blameless by construction: a person's name only ever comes from an event's `actor`, a run's
operator or the incident's commander field, and is shown as who did what, never in a sentence
that judges. Root cause and lessons are questions for the authors, never answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.errors import GraphError
from postmortems.action_items import seed_action_items
from postmortems.impact import build_impact, with_contamination
from postmortems.metrics import (
    AlertFact,
    as_utc,
    compute_metrics,
    find_moments,
    format_duration,
    impact_duration,
)
from postmortems.model import (
    ChainCheck,
    Detection,
    Impact,
    IncidentFacts,
    Metric,
    PostmortemDraft,
    Prompt,
    RunSummary,
    TimelineRow,
)
from postmortems.response import detection, run_summary
from postmortems.sources import ChainLike, EventLike, IncidentLike, LedgerLike, RunLike, event_data

if TYPE_CHECKING:
    from graph.contamination import Contamination
    from graph.model import Catalog

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
        incident,
        events,
        runs,
        ledger,
        chain,
        catalog,
        now=now,
        workspace_root=workspace_root,
        contamination=_contamination(store, catalog, incident.asset, events),
    )


def _contamination(
    store: Any, catalog: Catalog, asset: str, events: Sequence[EventLike]
) -> Contamination | None:
    """What the run history says read the bad data, when an alert says since when it was bad
    (`since` in its data) and there is run history; else None (the Impact stays structural)."""
    from graph.contamination import contamination

    since = None
    for event in events:
        if event.kind == "alert":
            value = event_data(event).get("since")
            since = value if isinstance(value, str) else since
    if since is None:
        return None
    try:
        start = datetime.fromisoformat(since.replace("Z", "+00:00"))
        entity = catalog.resolve(asset) if catalog.get(asset) is None else catalog.get(asset)
    except (ValueError, GraphError):
        return None
    if entity is None or not store.has_run_history():
        return None
    start = as_utc(start)
    return contamination(catalog, store.contamination_runs(start), entity.ref, start)


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
    contamination: Contamination | None = None,
) -> PostmortemDraft:
    """The draft from values already read; pure, so every rule is testable without a database."""
    generated_at = as_utc(now) if now else datetime.now(UTC)
    ordered = sorted(events, key=lambda e: e.seq)
    moments = find_moments(
        incident.opened_at,
        incident.acknowledged_at,
        incident.mitigated_at,
        incident.resolved_at,
        (AlertFact(e.at, event_data(e)) for e in ordered if e.kind == "alert"),
    )
    metrics = compute_metrics(moments)
    impact = build_impact(catalog, incident.asset, impact_duration(moments, generated_at))
    if contamination is not None:
        impact = with_contamination(impact, catalog, contamination)
    source_ref = impact.source.ref if impact.source else incident.asset

    timeline = tuple(TimelineRow(e.seq, as_utc(e.at), e.actor, e.kind, e.message) for e in ordered)
    runs_done = tuple(
        run_summary(run, ledger.get(run.id, ()), ordered) for run in runs if is_runbook_run(run)
    )
    head = ordered[-1].hash if ordered else None
    chain_check = ChainCheck(bool(chain.ok), chain.count, chain.first_bad, chain.reason, head)
    facts = IncidentFacts(
        id=incident.id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        asset=source_ref,
        asset_label=(impact.source.title or impact.source.name) if impact.source else source_ref,
        commander=incident.commander,
        opened_at=moments.opened_at,
        acknowledged_at=moments.acknowledged_at,
        mitigated_at=moments.mitigated_at,
        resolved_at=moments.resolved_at,
    )
    detected = detection(incident, ordered, timeline)
    items = seed_action_items(
        catalog,
        impact.source.ref if impact.source else None,
        impact.assets(),
        runs_done,
        ordered,
        chain_check,
        workspace_root,
    )
    return PostmortemDraft(
        incident=facts,
        generated_at=generated_at,
        summary=summarize(facts, impact, detected, runs_done, metrics),
        impact=impact,
        timeline=timeline,
        detection=detected,
        runs=runs_done,
        metrics=metrics,
        root_cause=ROOT_CAUSE_PROMPTS,
        lessons=LESSONS_PROMPTS,
        action_items=items,
        chain=chain_check,
        notes=moments.problems,
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summarize(
    facts: IncidentFacts,
    impact: Impact,
    detected: Detection,
    runs: Sequence[RunSummary],
    metrics: Sequence[Metric],
) -> tuple[str, ...]:
    """Facts in sentences, for the reader in a hurry; the authors write the real summary."""
    lines = [
        f"{facts.severity} incident {facts.id} on {facts.asset_label}, opened "
        f"{facts.opened_at:%Y-%m-%d %H:%M} UTC; status now: {facts.status}."
    ]
    if detected.first_alert_at:
        lines.append(
            f"First alert at {detected.first_alert_at:%Y-%m-%d %H:%M} UTC: {detected.first_alert}"
        )
    else:
        lines.append("No alert was recorded on the timeline.")
    if impact.source is None:
        lines.append(f"The asset {facts.asset} is not in the catalog: the blast radius is unknown.")
    else:
        lines.append(
            f"{_plural(impact.total, 'downstream asset')} in the blast radius, of which "
            f"{_plural(len(impact.models), 'model')} and {_plural(len(impact.feeds), 'feed')}."
        )
    real = [r for r in runs if r.did_work]
    if real:
        counts: dict[str, int] = {}
        for run in real:
            for state, n in run.counts.items():
                counts[state] = counts.get(state, 0) + n
        lines.append(
            f"{_plural(len(real), 'runbook run')}: {_plural(counts.get('done', 0), 'step')} ran, "
            f"{counts.get('skipped', 0)} skipped, {counts.get('failed', 0)} failed."
        )
    else:
        lines.append("No runbook was run against this incident.")
    refused = sum(r.refused for r in runs)
    no_op = sum(r.no_op and not r.dry_run for r in runs)
    if refused or no_op:
        left_out = [
            _plural(refused, "refused start") if refused else "",
            _plural(no_op, "rerun that found everything done") if no_op else "",
        ]
        lines.append(f"Not counted: {' and '.join(x for x in left_out if x)}.")
    ttr = next((m for m in metrics if m.key == "ttr"), None)
    if ttr is not None and ttr.seconds is not None:
        lines.append(f"Resolved {format_duration(ttr.seconds)} after detection.")
    return tuple(lines)


def is_runbook_run(run: RunLike) -> bool:
    """A run of a runbook file (`kind` `runbook`), as opposed to the engine's built-in runs (a
    page). Built-in runs are told elsewhere in the draft — pages under Detection, from their
    `page` events — so Response lists runbooks only."""
    return run.kind == "runbook"
