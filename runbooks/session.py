"""The run session: works a vetted runbook one step at a time, each effect at most once.

For each step (DESIGN.md, "Idempotency"), in this order:

1. render the action (`render`); its key is hash(incident, runbook, version, step, action);
2. a key already `done` in the ledger is skipped ("already done");
3. a key `started` but never done (a crash, a frozen process) is claimed by this session and
   settled by the step's check, or by the operator (`settle`);
4. otherwise a check that already holds skips the step — before anyone is asked anything;
5. permission and confirmation (`gate`);
6. lease check → intent → effect (retries) → verify → done, fenced (`execute_once`).

A session that was taken over raises `Fenced` from `run_step` (and `run_all`): it records why
on the timeline when it can, writes nothing else, and never starts another effect. A dry run
goes through the planner (`dry_run`) and writes nothing.

`RunSession` is driven step by step (the TUI: `plan`, `next_step`, `render`, `run_step`,
`skip_step`, `mark_done`) or all at once (`run_all`, the CLI).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

from incidents.errors import StoreError
from incidents.ledger import LedgerEntry
from runbooks.actions import ActionFailed, Preview, RenderedAction
from runbooks.dry_run import DryRunPlanner
from runbooks.errors import Fenced, RunbookError
from runbooks.execute_once import ExecuteOnce
from runbooks.gate import Gate
from runbooks.render import StepRenderer
from runbooks.run_context import Clock, RunContext
from runbooks.run_state import (
    RenderedStep,
    RunOptions,
    RunReport,
    RunStatus,
    StepOutcome,
    StepState,
)
from runbooks.schema import Runbook, StepSpec
from runbooks.settle import Settler, count_statuses, left_behind
from runbooks.step_effect import StepEffect

__all__ = ["Clock", "RunSession"]


class RunSession:
    """One run of one runbook for one incident, driven step by step or all at once."""

    def __init__(self, ctx: RunContext, *, vetted: bool = True) -> None:
        self.ctx = ctx
        self.renderer = StepRenderer(ctx)
        self.gate = Gate(ctx)
        self.planner = DryRunPlanner(ctx, self.renderer, vetted=vetted)
        self.settler = Settler(ctx, self.renderer, ctx.execute_once)
        self.effect = StepEffect(ctx, self.renderer, self.settler)
        ctx.states.update(
            {
                s.id: StepState(s.id, self.renderer.title(s), s.destructive)
                for s in ctx.runbook.spec.steps
            }
        )
        self._visited: set[str] = set()
        self._stopped: str | None = None
        self._fenced: Fenced | None = None
        self._finished: RunReport | None = None

    # -- what the UI reads ---------------------------------------------------------------------

    @property
    def run_id(self) -> str | None:
        return self.ctx.run_id

    @property
    def dry_run(self) -> bool:
        return self.ctx.dry_run

    @property
    def incident_id(self) -> str | None:
        return self.ctx.incident_id

    @property
    def runbook(self) -> Runbook:
        return self.ctx.runbook

    @property
    def actor(self) -> str:
        return self.ctx.actor

    @property
    def options(self) -> RunOptions:
        return self.ctx.options

    @property
    def states(self) -> dict[str, StepState]:
        return self.ctx.states

    @property
    def stopped(self) -> str | None:
        """Why the run stopped (declined, refused, failed), or None."""
        return self._stopped

    def render(self, step_id: str) -> RenderedStep:
        return self.renderer.render(step_id)

    def preview(self, step_id: str) -> Preview | None:
        """What the step's effect would change, read now (for the app's confirmation)."""
        step = self.ctx.runbook.spec.step(step_id)
        return self.gate.preview(step, self.renderer.action(step), report=False)

    def destructive_steps_to_confirm(self) -> list[str]:
        """The destructive steps this run would stop to confirm, as far as can be told before
        its first effect: not done in the ledger (by any run) and whose check does not hold now.
        A step that can be rendered only at run time, or whose check cannot run, counts: unknown
        is treated as "will ask". Reads only."""
        pending: list[str] = []
        for step in self.ctx.runbook.spec.steps:
            if not step.destructive:
                continue
            try:
                rendered = self.renderer.action(step)
            except RunbookError:
                pending.append(step.id)
                continue
            entry = self.ctx.store.ledger_get(rendered.key) if rendered.key else None
            if entry is not None and entry.status == "done":
                continue
            if step.check is not None:
                try:
                    if self.settler.check(step, step.check).holds:
                        continue
                except (ActionFailed, RunbookError):
                    pass
            pending.append(step.id)
        return pending

    def changed_assets(self) -> list[str]:
        return self.renderer.changed_assets()

    def plan(self) -> list[StepState]:
        return [replace(s) for s in self.ctx.states.values()]

    def next_step(self) -> StepState | None:
        """The next step to work on, or None when the run is over or stopped."""
        if self._stopped or self._fenced:
            return None
        for state in self.ctx.states.values():
            if state.id not in self._visited and state.status not in ("done", "skipped"):
                return state
        return None

    def load_states(self) -> None:
        """Fill step states from the ledger (`Settler.load_states`)."""
        self._visited.update(self.settler.load_states())

    # -- running -------------------------------------------------------------------------------

    def run_all(self) -> RunReport:
        """Every step in order until one stops the run. `Fenced` propagates (after closing)."""
        try:
            while (state := self.next_step()) is not None:
                if self.run_step(state.id).stop:
                    break
        except Fenced:
            self.finish()
            raise
        return self.finish()

    def run_step(self, step_id: str, *, confirmed: bool = False) -> StepOutcome:
        """Work one step through the ledger. `confirmed` says the UI already asked the operator
        (and, for a destructive step, had them type the asset name)."""
        if self._fenced is not None:
            raise self._fenced
        step = self.ctx.runbook.spec.step(step_id)
        state = self.ctx.states[step_id]
        self._visited.add(step_id)
        self._stopped = None  # an earlier stop halts `run_all`, not an operator who goes on
        if self.dry_run:
            return StepOutcome(self.planner.plan_step(step, state))
        self._require_live_run()
        try:
            return self._run_step(step, state, confirmed)
        except Fenced as exc:
            self._on_fenced(exc)
            raise

    def skip_if_done(self, step_id: str) -> StepOutcome | None:
        """Settle a pending step that needs nothing done — already done (the ledger) or its
        check already holds — without asking anyone anything; None when it would have to act
        (it is left as it was: nothing asked, nothing run). `run_step` does the same first;
        the app calls this as each step comes up, so only a step that will really act is put
        to the operator (and a destructive one asks for the asset's name only then)."""
        if self._fenced is not None:
            raise self._fenced
        step = self.ctx.runbook.spec.step(step_id)
        state = self.ctx.states[step_id]
        if self.dry_run or state.status != "pending":
            return None
        self._require_live_run()
        try:
            rendered = self.renderer.action(step)
        except RunbookError:
            return None  # `run_step` reports it when the operator gets to this step
        state.key, state.rendered = rendered.key, rendered
        assert rendered.key is not None
        entry = self.ctx.store.ledger_get(rendered.key)
        if entry is not None and entry.status == "started":
            return None  # in doubt: settling it may need the operator
        try:
            outcome = self._no_effect_needed(step, state, rendered, entry)
        except Fenced as exc:
            self._on_fenced(exc)
            raise
        if outcome is not None:
            self._visited.add(step_id)
            return self._outcome(outcome)
        return None

    def _no_effect_needed(
        self, step: StepSpec, state: StepState, rendered: RenderedAction, entry: LedgerEntry | None
    ) -> StepOutcome | None:
        """A step done already (by this or an earlier run, the ledger says) or whose check
        holds is settled without its effect and without asking; None: it has to act (a check
        that cannot run fails the step: the outcome says so)."""
        if entry is not None and entry.status == "done":
            return self.settler.already_done(step, state, entry)
        if step.check is not None:
            return self.settler.skip_if_holds(step, state, rendered, entry)
        return None

    def _run_step(self, step: StepSpec, state: StepState, confirmed: bool) -> StepOutcome:
        ctx = self.ctx
        try:
            rendered = self.renderer.action(step)
        except RunbookError as exc:
            return self._outcome(self.settler.fail(step, state, str(exc), force_stop=True))
        state.key, state.rendered = rendered.key, rendered
        assert rendered.key is not None
        entry = ctx.store.ledger_get(rendered.key)
        if entry is not None and entry.status == "started":
            entry = self._once.begin(rendered.key, step.id, rendered.as_dict(), entry)
            settled = self.settler.in_doubt(step, state, rendered, entry)
            if settled is not None:
                return self._outcome(settled)
        else:  # checks run before any confirmation: a step with nothing to do asks nothing
            settled = self._no_effect_needed(step, state, rendered, entry)
            if settled is not None:
                return self._outcome(settled)
        assets = self.renderer.step_assets(step)
        state.preview = self.gate.preview(step, rendered)
        refusal = self.gate.admit(step, state, rendered, assets, confirmed)
        if refusal is not None:
            return self._stop(state, refusal.why)
        return self._outcome(
            self.effect.run(step, state, rendered, entry, assets, confirmed, self._stop)
        )

    def skip_step(self, step_id: str, reason: str) -> StepOutcome:
        """The operator skips a step: nothing is done and nothing is recorded as done."""
        state = self.ctx.states[step_id]
        self._visited.add(step_id)
        self._stopped = None
        state.status, state.message = "skipped", f"skipped by the operator: {reason}"
        self.ctx.record(
            "step_skipped",
            f"{step_id}: skipped by {self.ctx.actor}: {reason}",
            step_id,
            {"reason": reason, "by": "operator"},
        )
        return StepOutcome(state)

    def mark_done(self, step_id: str, reason: str) -> StepOutcome:
        """The operator did the step by hand: recorded done (0 effects by oncall) with the why."""
        self._visited.add(step_id)
        self._stopped = None
        self._require_live_run()
        try:
            return self.settler.mark_done(self.ctx.runbook.spec.step(step_id), reason)
        except Fenced as exc:
            self._on_fenced(exc)
            raise

    # -- the pieces ----------------------------------------------------------------------------

    @property
    def _once(self) -> ExecuteOnce:
        return self.ctx.execute_once()

    def _require_live_run(self) -> None:
        if self.ctx.run is None:
            raise RunbookError("this session has no run (start it with start_run)")
        if self._finished is not None:
            raise RunbookError(f"{self.ctx.run.id} is finished")

    def _outcome(self, outcome: StepOutcome) -> StepOutcome:
        if outcome.stop:
            self._stopped = outcome.state.message or f"{outcome.state.id} stopped the run"
        return outcome

    def _stop(self, state: StepState, why: str) -> StepOutcome:
        if state.status == "failed" and state.message:  # keep why it failed (a resume declined)
            why = f"{state.message} (not retried: {why})"
        state.message = why
        self._stopped = why
        self.ctx.record("decision", f"{state.id}: not run: {why}", state.id, {"stopped": why})
        return StepOutcome(state, stop=True)

    def _on_fenced(self, exc: Fenced) -> None:
        """Record once why this session stopped, if the timeline still takes it, and stop the
        heartbeat. Nothing else is written: the run belongs to the session that took it."""
        if self._fenced is not None:
            return
        self._fenced = exc
        self._stopped = str(exc)
        if self.ctx.keeper is not None:
            self.ctx.keeper.stop()
        with contextlib.suppress(StoreError):  # the database is gone too: the exit says it
            self.ctx.record(
                "lease", str(exc), data={"fenced": True, "by": exc.by, "host": exc.host}
            )

    # -- the end -------------------------------------------------------------------------------

    def finish(self) -> RunReport:
        """Close the run: its status from the steps, leases released, a closing event. A fenced
        session closes nothing: the run is another session's now."""
        if self._finished is not None:
            return self._finished
        ctx = self.ctx
        steps = tuple(replace(s) for s in ctx.states.values())
        if self.dry_run:
            status: RunStatus = "dry_run"
        elif self._fenced is not None:
            status = "interrupted"
        elif any(s.status in ("failed", "in_doubt") for s in steps):
            status = "failed"
        elif self._stopped or any(s.status == "pending" for s in steps):
            status = "interrupted"
        else:
            status = "done"
        left, hint = left_behind(steps, status, ctx.run_id, fenced=self._fenced is not None)
        if ctx.run is not None and not self.dry_run and self._fenced is None:
            try:
                ctx.store.set_run_status(ctx.run.id, status, session=ctx.token)
            finally:
                if ctx.keeper is not None:
                    ctx.keeper.release_all()
            ctx.record(
                "note",
                f"{ctx.run.id} ({ctx.runbook.id} v{ctx.runbook.version}) {status}: "
                f"{count_statuses(steps)}"
                + (f"; stopped: {self._stopped}" if self._stopped else "")
                + (f"; left changed: {', '.join(left)}" if hint and left else "")
                + (f"; {hint}" if hint else ""),
                data={"status": status, "steps": [s.as_dict() for s in steps]},
            )
        self._finished = RunReport(
            ctx.run_id,
            status,
            ctx.runbook.id,
            ctx.runbook.version,
            ctx.incident_id,
            ctx.actor,
            self.dry_run,
            steps,
            left_changed=left,
            next_step=hint,
        )
        return self._finished

    def abandon(self) -> None:
        """Stop renewing leases without closing the run (a UI closing mid-run; resume later)."""
        if self.ctx.keeper is not None:
            self.ctx.keeper.release_all()
