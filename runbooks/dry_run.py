"""The dry-run planner: what a run would do, found without doing anything.

It renders every step (a template mistake is an error naming file, line and step; a template
that reads a later step's output is "rendered at run time"), says which steps would run or be
skipped and why, and whether the operator may run the destructive ones. It writes nothing: no
run, no ledger row, no event.

Checks only read, and still only a vetted runbook's checks run: the dry run of an unvetted or
edited runbook runs nothing at all and says so. Once an earlier step would change something, a
later step's check is "decided at run time": what it sees now is not what it will see then.
"""

from __future__ import annotations

from runbooks.actions import ActionFailed
from runbooks.errors import RunbookError
from runbooks.permissions import destructive_permission
from runbooks.render import StepRenderer, StepTemplateError
from runbooks.run_context import RunContext
from runbooks.run_state import StepState
from runbooks.schema import StepSpec
from runbooks.templating import NeedsStepOutput

UNVETTED_NOTE = "not vetted: nothing was run, not even its checks"


class DryRunPlanner:
    def __init__(self, ctx: RunContext, renderer: StepRenderer, *, vetted: bool) -> None:
        self.ctx = ctx
        self.renderer = renderer
        self.vetted = vetted
        self.changes_before = False  # an earlier step would run: later checks may see otherwise

    def plan_step(self, step: StepSpec, state: StepState) -> StepState:
        ctx = self.ctx
        try:
            rendered = self.renderer.action(step)
        except StepTemplateError as exc:
            if not isinstance(exc.problem, NeedsStepOutput):
                raise
            state.status = "would_run"
            state.message = (
                f"rendered at run time (uses the output of step {exc.problem.step_id!r})"
            )
            self.changes_before = True
            ctx.record("note", f"{step.id}: {state.message}", step.id)
            return state
        state.key, state.rendered = rendered.key, rendered
        entry = ctx.store.ledger_get(rendered.key) if rendered.key else None
        notes: list[str] = []
        if step.destructive:
            assets = self.renderer.step_assets(step)
            permission = destructive_permission(ctx.catalog, ctx.operator, assets, ctx.clock())
            notes.append(
                "destructive; you may run it"
                if permission.allowed
                else f"destructive; {permission.denial(ctx.operator)}: it would need break-glass"
            )
        if entry is not None and entry.status == "done":
            state.status, state.message = "would_skip", f"already done by {entry.run_id}"
        elif step.check is None:
            state.status, state.message = "would_run", "no check; would run"
        elif not self.vetted:
            state.status, state.message = "would_run", f"check not run ({UNVETTED_NOTE})"
        else:
            self._by_check(step, state)
        if state.status == "would_run":
            self.changes_before = True
        if notes:
            state.message += "; " + "; ".join(notes)
        ctx.record(
            "note",
            f"{step.id}: {state.status.replace('_', ' ')}: {state.message}",
            step.id,
            {"action": rendered.text, "dry_run": True},
        )
        return state

    def _by_check(self, step: StepSpec, state: StepState) -> None:
        assert step.check is not None
        ctx = self.ctx
        try:
            rendered, expect = self.renderer.check(step, step.check)
            result = step.check.check(rendered, ctx.runtime(step, None, False), expect)
        except (ActionFailed, RunbookError) as exc:
            state.status, state.message = "would_run", f"check could not run: {exc}"
            return
        now = "holds" if result.holds else "does not hold"
        if self.changes_before:
            state.status = "would_run"
            state.message = (
                f"decided at run time: an earlier step changes things first (its check "
                f"{now} now: {result.detail})"
            )
        elif result.holds:
            state.status = "would_skip"
            state.message = f"desired state already holds ({result.detail})"
        else:
            state.status = "would_run"
            state.message = f"check does not hold ({result.detail})"
