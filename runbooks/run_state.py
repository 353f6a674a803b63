"""What a run looks like from outside: step states, the report, options, engine events.

Plain dataclasses shared by the engine, the CLI and the TUI; no behaviour beyond `as_dict`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from runbooks.actions import Preview, RenderedAction
from runbooks.leasing import DEFAULT_TTL_SECONDS

StepStatus = Literal["pending", "done", "skipped", "failed", "in_doubt", "would_run", "would_skip"]
RunStatus = Literal["running", "done", "failed", "interrupted", "dry_run"]


@dataclass
class StepState:
    """Where one step stands in this run, for the operator and for `run --json`."""

    id: str
    title: str
    destructive: bool
    status: StepStatus = "pending"
    effect_count: int = 0
    message: str = ""
    key: str | None = None
    rendered: RenderedAction | None = None
    #: What the effect would change, read before the confirmation (`Action.preview`).
    preview: Preview | None = None
    #: What the effect did, in one line (`ActionResult.changed`).
    changed: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "effect_count": self.effect_count,
            "destructive": self.destructive,
            "message": self.message,
        }
        if self.preview is not None:
            data["preview"] = self.preview.text
        if self.changed:
            data["changed"] = self.changed
        return data


@dataclass(frozen=True)
class RenderedStep:
    """Everything the operator is shown before a step runs."""

    id: str
    title: str
    destructive: bool
    action: RenderedAction
    check: RenderedAction | None
    verify: RenderedAction | None
    assets: tuple[str, ...]


@dataclass(frozen=True)
class EngineEvent:
    """What the engine reports to a UI as it goes (timeline events, and dry-run findings)."""

    kind: str
    message: str
    step: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepOutcome:
    state: StepState
    stop: bool = False


@dataclass(frozen=True)
class RunReport:
    run_id: str | None
    status: RunStatus
    runbook_id: str
    version: int
    incident_id: str | None
    operator: str
    dry_run: bool
    steps: tuple[StepState, ...]
    #: A run that stopped part-way: what its finished steps left changed ...
    left_changed: tuple[str, ...] = ()
    #: ... and how to go on (resume) or back (undo by hand).
    next_step: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "left_changed": list(self.left_changed),
            "next": self.next_step,
            "run": self.run_id,
            "status": self.status,
            "runbook": self.runbook_id,
            "version": self.version,
            "incident": self.incident_id,
            "operator": self.operator,
            "dry_run": self.dry_run,
            "steps": [s.as_dict() for s in self.steps],
        }


@dataclass
class RunOptions:
    dry_run: bool = False
    yes: bool = False
    yes_destructive: bool = False
    force_reason: str | None = None
    break_glass: str | None = None
    lease_ttl: float = DEFAULT_TTL_SECONDS
    retry_backoff: float = 0.5


EventSink = Callable[[EngineEvent], None]
