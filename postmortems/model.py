"""The postmortem draft as typed data: what the template renders and what `--json` prints.

Everything here is a fact taken from the store, the timeline or the catalog, or an explicit
"unknown" with the reason. Nothing is prose written on anyone's behalf: the parts that need a
human's judgement (root cause, lessons) are prompts, and people appear only as the actors of
events (blameless by construction). Keeping the draft as plain data, separate from the markdown,
lets `--json`, the TUI preview and the template all show the same content.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

StepState = Literal["done", "skipped", "failed", "started", "in_doubt", "stopped", "pending"]
ActionSource = Literal[
    "failed-step",
    "manual-step",
    "break-glass",
    "lease-override",
    "catalog-problem",
    "missing-owner",
    "chain-broken",
]


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """The metadata block: the incident's row in the store, as recorded."""

    id: str
    title: str
    severity: str
    status: str
    asset: str
    asset_label: str
    commander: str | None
    opened_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class AffectedAsset:
    """One asset in the blast radius, with the shortest path that explains why it is affected."""

    ref: str
    name: str
    title: str | None
    type: str | None
    hops: int
    path: tuple[str, ...]
    owner: str | None
    owner_label: str | None


@dataclass(frozen=True, slots=True)
class AssetGroup:
    """Affected assets of one `spec.type` (None when the catalog gives no type)."""

    type: str | None
    label: str
    assets: tuple[AffectedAsset, ...]


@dataclass(frozen=True, slots=True)
class Span:
    """A measured interval; `seconds` is None when an end is unknown, and `note` says why."""

    start: datetime | None
    end: datetime | None
    seconds: float | None
    start_basis: str
    end_basis: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Impact:
    """What the incident reached: the source asset, everything downstream of it, for how long."""

    source: AffectedAsset | None
    source_missing: str | None
    groups: tuple[AssetGroup, ...]
    total: int
    models: tuple[str, ...]
    feeds: tuple[str, ...]
    duration: Span
    # From the run history, when the incident says when its asset went bad (`since`): what did
    # read the bad data, as opposed to what merely could have (everything downstream).
    contaminated: tuple[ContaminatedRow, ...] = ()
    clean: tuple[CleanRow, ...] = ()
    analysed: bool = False

    def assets(self) -> tuple[AffectedAsset, ...]:
        """The source asset (when in the catalog) and every affected one."""
        grouped = tuple(a for group in self.groups for a in group.assets)
        return ((self.source,) if self.source else ()) + grouped


@dataclass(frozen=True, slots=True)
class ContaminatedRow:
    """An asset the run history shows held bad data, and the versions the bad runs wrote."""

    ref: str
    type: str | None
    hops: int
    owner_label: str | None
    versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CleanRow:
    """Downstream in the catalog, but no run that read bad data wrote it."""

    ref: str
    type: str | None
    owner_label: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One event of the timeline, as it was recorded (UTC)."""

    seq: int
    at: datetime
    actor: str
    kind: str
    what: str


@dataclass(frozen=True, slots=True)
class Detection:
    """How the incident came to people's attention."""

    first_alert_at: datetime | None
    first_alert: str | None
    first_alert_actor: str | None
    alerts: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    pages: tuple[TimelineRow, ...]


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """The last known state of one runbook step within one run, and who acted on it."""

    step_id: str
    title: str | None
    state: StepState
    actor: str | None
    at: datetime | None
    detail: str | None
    manual: bool = False
    failures: int = 0
    last_error: str | None = None
    by_hand: bool = False


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One runbook run against the incident and what each of its steps did."""

    id: str
    runbook_id: str
    version: int | str | None
    operator: str | None
    status: str
    dry_run: bool
    params: dict[str, Any]
    steps: tuple[StepOutcome, ...]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for step in self.steps:
            out[step.state] = out.get(step.state, 0) + 1
        return out

    @property
    def refused(self) -> bool:
        """Never started: refused before its first step (a lease held, a check of permission)."""
        return not self.dry_run and not any(
            s.state not in ("pending", "stopped") for s in self.steps
        )

    @property
    def no_op(self) -> bool:
        """A rerun that found every step already done: it changed nothing."""
        return bool(self.steps) and all(s.state == "skipped" for s in self.steps)

    @property
    def did_work(self) -> bool:
        """What a summary counts as a runbook run: live, started, and not a no-op rerun."""
        return not self.dry_run and not self.refused and not self.no_op


@dataclass(frozen=True, slots=True)
class Metric:
    """One of TTD, TTA, TTM, TTR. `seconds` is None when it cannot be computed; `note` says why."""

    key: Literal["ttd", "tta", "ttm", "ttr"]
    name: str
    seconds: float | None
    start: datetime | None
    end: datetime | None
    start_basis: str
    end_basis: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ActionItem:
    """A follow-up seeded from the facts; a human decides whether to keep it."""

    source: ActionSource
    what: str
    asset: str | None
    proposed_owner: str | None
    owner_basis: str
    reference: str | None
    proposed_owner_label: str | None = None


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of walking the timeline's hash chain when the draft was built."""

    ok: bool
    count: int
    first_bad: int | None
    reason: str | None
    #: The hash of the last event when the draft was built: committed with the postmortem, it
    #: anchors the chain (`oncall incident verify INC --head HASH`) against a rewritten head.
    head: str | None = None


@dataclass(frozen=True, slots=True)
class Prompt:
    """A question for the people writing the postmortem; the draft never answers it."""

    heading: str
    question: str


@dataclass(frozen=True, slots=True)
class PostmortemDraft:
    """Everything the postmortem template renders, in section order."""

    incident: IncidentFacts
    generated_at: datetime
    summary: tuple[str, ...]
    impact: Impact
    timeline: tuple[TimelineRow, ...]
    detection: Detection
    runs: tuple[RunSummary, ...]
    metrics: tuple[Metric, ...]
    root_cause: tuple[Prompt, ...]
    lessons: tuple[Prompt, ...]
    action_items: tuple[ActionItem, ...]
    chain: ChainCheck
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The draft as JSON-ready data: datetimes as ISO-8601 UTC strings, tuples as lists."""
        data = _jsonable(asdict(self))
        data["runs"] = [
            {**run_data, "counts": run.counts}
            for run_data, run in zip(data["runs"], self.runs, strict=True)
        ]
        data["schema"] = "oncall.postmortem/v1"
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
