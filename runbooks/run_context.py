"""What every part of a run shares: the run's identity, its people, its store, and the one place
that records what happens (the timeline, and the UI's event sink).

The parts of a run each have one job and read this context: `render` (templates → the exact
actions), `gate` (permission and confirmation), `execute_once` (lease check → intent → effect →
done, fenced), `dry_run` (the planner), and `session` (the order of those, step by step).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from incidents.records import Incident
from incidents.runs import Run
from incidents.store import Store
from runbooks.actions import ActionRuntime
from runbooks.environment import RunbookEnv
from runbooks.errors import RunbookError
from runbooks.execute_once import ExecuteOnce, Guard, NoLeases
from runbooks.leasing import LeaseKeeper, new_session
from runbooks.params import ResolvedParams
from runbooks.prompts import Prompter
from runbooks.run_state import EngineEvent, EventSink, RunOptions, StepState
from runbooks.schema import Runbook, StepSpec
from runbooks.templating import StepView

if TYPE_CHECKING:
    from graph.model import Catalog

#: Where a run reads the time (who is on call now, for a destructive step's permission).
Clock = Callable[[], datetime]


@dataclass
class RunContext:
    store: Store
    env: RunbookEnv
    catalog: Catalog | None
    runbook: Runbook
    incident: Incident | None
    params: ResolvedParams
    operator: str
    actor: str
    options: RunOptions
    prompter: Prompter
    clock: Clock
    on_event: EventSink | None = None
    run: Run | None = None
    keeper: LeaseKeeper | None = None
    #: This process's fencing token for the run (leases, ledger rows and the run carry it).
    token: str = field(default_factory=new_session)
    outputs: dict[str, StepView] = field(default_factory=dict)
    #: The run's break-glass `override` is on the timeline (it is recorded once per run).
    break_glass_recorded: bool = False
    states: dict[str, StepState] = field(default_factory=dict)

    @property
    def run_id(self) -> str | None:
        return self.run.id if self.run else None

    @property
    def dry_run(self) -> bool:
        return self.options.dry_run

    @property
    def incident_id(self) -> str | None:
        return self.incident.id if self.incident else None

    def record(
        self,
        kind: str,
        message: str,
        step: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """A timeline event (never in a dry run) and a report to the UI."""
        payload = dict(data or {})
        if step:
            payload.setdefault("step", step)
        if self.run_id:
            payload.setdefault("run", self.run_id)
            payload.setdefault("runbook", self.runbook.id)
        if not self.dry_run and self.incident_id:
            self.store.append_event(self.incident_id, kind, message, self.actor, payload)
        if self.on_event:
            self.on_event(EngineEvent(kind, message, step, payload))

    def execute_once(self) -> ExecuteOnce:
        """The fenced ledger protocol for this run's effects, guarded by its leases."""
        if self.run is None:
            raise RunbookError("this session has no run (start it with start_run)")
        guard: Guard = self.keeper if self.keeper is not None else NoLeases(self.run.id)
        return ExecuteOnce(self.store, self.run.id, self.incident_id, self.token, guard)

    def lease_report(self, kind: str, message: str, data: dict[str, object]) -> None:
        self.record(kind, message, data=data)

    def runtime(self, step: StepSpec, key: str | None, confirmed: bool) -> ActionRuntime:
        """What an action of `step` needs from outside the runbook (a check gets no key)."""
        state = self.states[step.id]

        def confirm(instruction: str) -> bool:
            return confirmed or self.prompter.confirm_manual(state, instruction)

        return ActionRuntime(
            connections=self.env.connections,
            credentials=self.env.credentials,
            workdir=self.env.root,
            timeout=step.timeout,
            idempotency_key=key,
            notify_webhook=self.env.notify_webhook,
            labels={
                "incident": self.incident_id or "",
                "runbook": self.runbook.id,
                "run": self.run_id or "",
                "step": step.id,
            },
            confirm=confirm,
            say=self.prompter.say,
        )
