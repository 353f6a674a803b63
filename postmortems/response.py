"""Detection and response: how the incident was noticed, and what each runbook run did.

A run's steps are read from two records: the step ledger (what was attempted, whether it finished,
and the action's type) and the timeline events the runbook engine writes, whose `data` names the
run (`run`) and the step (`step`). Events come last and win, because they also record what leaves
no ledger row of this run: a step skipped as already done by an earlier run, a decision taken by
hand, a step not run because the run stopped. The engine's closing note for a run lists every
step with its title, so steps the run never reached still show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from postmortems.metrics import as_utc
from postmortems.model import Detection, RunSummary, StepOutcome, StepState, TimelineRow
from postmortems.sources import EventLike, IncidentLike, LedgerLike, RunLike, event_data, first_text

_EVENT_STATES: dict[str, StepState] = {
    "step_started": "started",
    "step_done": "done",
    "step_failed": "failed",
    "step_skipped": "skipped",
}
_LEDGER_STATES: dict[str, StepState] = {"started": "started", "done": "done", "failed": "failed"}
_SUMMARY_STATES: dict[str, StepState] = {
    "pending": "pending",
    "done": "done",
    "skipped": "skipped",
    "failed": "failed",
    "in_doubt": "in_doubt",
}


def statuses_reached(event: EventLike) -> set[str]:
    """The statuses a `status` event moved through: its `to` and the stages it `implied`."""
    data = event_data(event)
    reached = {s.lower() for s in data.get("implied") or () if isinstance(s, str)}
    if isinstance(data.get("to"), str):
        reached.add(data["to"].lower())
    return reached


def detection(
    incident: IncidentLike, events: Sequence[EventLike], timeline: Sequence[TimelineRow]
) -> Detection:
    """The first alert, who acknowledged, and who was paged, from the timeline."""
    alerts = [e for e in events if e.kind == "alert"]
    first = alerts[0] if alerts else None
    acknowledged_by = next(
        (e.actor for e in events if e.kind == "status" and "acknowledged" in statuses_reached(e)),
        None,
    )
    pages = tuple(row for row, e in zip(timeline, events, strict=True) if e.kind == "page")
    return Detection(
        first_alert_at=as_utc(first.at) if first else None,
        first_alert=first.message if first else None,
        first_alert_actor=first.actor if first else None,
        alerts=len(alerts),
        acknowledged_at=as_utc(incident.acknowledged_at) if incident.acknowledged_at else None,
        acknowledged_by=acknowledged_by,
        pages=pages,
    )


@dataclass
class _Step:
    step_id: str
    title: str | None = None
    state: StepState = "started"
    actor: str | None = None
    at: datetime | None = None
    detail: str | None = None
    manual: bool = False
    by_hand: bool = False
    last_error: str | None = None
    ledger_failures: int = 0
    event_failures: int = 0


def _is_manual(rendered: Mapping[str, Any] | None) -> bool:
    """Whether a ledger row's rendered action is a `manual` one (the engine stores its type)."""
    return bool(rendered) and rendered.get("type") == "manual"


def _after_step_id(message: str, step_id: str) -> str:
    """The engine writes `<step>: <what>`; the step is its own column, so drop the prefix."""
    prefix = f"{step_id}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def run_summary(
    run: RunLike, ledger: Sequence[LedgerLike], events: Sequence[EventLike]
) -> RunSummary:
    """Each step's last known state in `run`, who acted on it last, and its failures."""
    steps: dict[str, _Step] = {}
    closing: list[Mapping[str, Any]] = []
    for entry in sorted(ledger, key=lambda e: as_utc(e.started_at)):
        step = steps.setdefault(entry.step_id, _Step(entry.step_id))
        step.state = _LEDGER_STATES.get(entry.status, "started")
        step.at = as_utc(entry.finished_at or entry.started_at)
        step.manual = step.manual or _is_manual(entry.rendered)
        if entry.status == "failed":
            step.detail = step.last_error = entry.error
            step.ledger_failures += 1
    for event in events:
        data = event_data(event)
        if data.get("run") != run.id:
            continue
        if event.kind == "note" and isinstance(data.get("steps"), list):
            closing = [s for s in data["steps"] if isinstance(s, Mapping)]
            continue
        step_id = data.get("step")
        if not isinstance(step_id, str) or not step_id:
            continue
        step = steps.setdefault(step_id, _Step(step_id))
        _apply_event(step, event, data)
    for listed in closing:  # titles, and the steps this run never reached
        step_id = listed.get("id")
        if not isinstance(step_id, str):
            continue
        title = listed.get("title")
        step = steps.get(step_id)
        if step is None:
            state = _SUMMARY_STATES.get(str(listed.get("status")), "pending")
            step = steps[step_id] = _Step(
                step_id, state=state, detail=listed.get("message") or None
            )
        if isinstance(title, str) and title:
            step.title = title
    outcomes = []
    for step in steps.values():
        if step.state == "started" and run.status != "running":
            step.state = "in_doubt"  # intent recorded, run over, no outcome: it may have run
        outcomes.append(
            StepOutcome(
                step_id=step.step_id,
                title=step.title,
                state=step.state,
                actor=step.actor or (run.operator if step.state not in ("pending",) else None),
                at=step.at,
                detail=step.detail,
                manual=step.manual,
                failures=max(step.ledger_failures, step.event_failures),
                last_error=step.last_error,
                by_hand=step.by_hand,
            )
        )
    _order_as_listed(outcomes, closing)
    return RunSummary(
        id=run.id,
        runbook_id=run.runbook_id,
        version=run.version,
        operator=run.operator,
        status=run.status,
        dry_run=bool(run.dry_run),
        params=dict(run.params or {}),
        steps=tuple(outcomes),
    )


def _apply_event(step: _Step, event: EventLike, data: Mapping[str, Any]) -> None:
    what = _after_step_id(event.message, step.step_id)
    state = _EVENT_STATES.get(event.kind)
    if state is not None:
        step.state, step.actor, step.at = state, event.actor, as_utc(event.at)
        if state == "started" and step.title is None:
            step.title = what
        elif state == "failed":
            step.detail = step.last_error = first_text(data, ("error",)) or what
            step.event_failures += 1
        elif state == "skipped":
            step.detail = what
        elif state == "done":
            step.detail = what if data.get("settled") else None
        return
    if event.kind != "decision":
        return
    if "stopped" in data:
        step.state, step.actor, step.at = "stopped", event.actor, as_utc(event.at)
        step.detail = first_text(data, ("stopped",)) or what
    elif data.get("settled") == "operator" and data.get("answer") in (None, "done"):
        step.state, step.actor, step.at = "done", event.actor, as_utc(event.at)
        step.by_hand, step.detail = True, what
    elif data.get("settled") == "operator" and data.get("answer") == "stop":
        step.state, step.actor, step.at = "in_doubt", event.actor, as_utc(event.at)
        step.detail = what


def _order_as_listed(outcomes: list[StepOutcome], closing: Sequence[Mapping[str, Any]]) -> None:
    """Runbook order when the closing note gives it; else the order steps were first seen."""
    order = {s.get("id"): i for i, s in enumerate(closing)}
    if order:
        outcomes.sort(key=lambda o: order.get(o.step_id, len(order)))
