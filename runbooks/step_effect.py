"""A step's effect, the one way a runbook step changes anything: through execute-once.

    lease check → intent (or claim) → `failpoint before` → effect (retries; the lease checked
    again immediately before each) → `failpoint after` → verify → done

Each write carries the session's fencing token; a session taken over stops with `Fenced` at its
next check or write and never starts another effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from incidents.ledger import LedgerEntry
from runbooks.actions import ActionDeclined, ActionFailed, RenderedAction
from runbooks.errors import RunbookError
from runbooks.failpoints import failpoint
from runbooks.render import StepRenderer
from runbooks.run_context import RunContext
from runbooks.run_state import StepOutcome, StepState
from runbooks.schema import StepSpec
from runbooks.settle import Settler, brief
from runbooks.templating import StepView


class StepEffect:
    def __init__(self, ctx: RunContext, renderer: StepRenderer, settler: Settler) -> None:
        self.ctx = ctx
        self.renderer = renderer
        self.settler = settler

    def run(
        self,
        step: StepSpec,
        state: StepState,
        rendered: RenderedAction,
        entry: LedgerEntry | None,
        assets: list[str],
        confirmed: bool,
        stop: Callable[[StepState, str], StepOutcome],
    ) -> StepOutcome:
        """Lease check → intent (or claim) → effect (retries, each after a lease check) →
        verify → done, all with this session's token. `stop` ends the run with a reason."""
        ctx, once = self.ctx, self.ctx.execute_once()
        assert rendered.key is not None
        if ctx.keeper is not None:
            ctx.keeper.confirm(assets)  # before the intent: a fenced session writes none
        entry = once.begin(rendered.key, step.id, rendered.as_dict(), entry)
        if not once.owns(entry):
            return stop(state, f"{entry.run_id} recorded this step at the same moment")
        ctx.record(
            "step_started",
            f"{step.id}: {state.title}",
            step.id,
            {"key": rendered.key, "action": rendered.text, "destructive": step.destructive},
        )
        failpoint(step.id, "before")
        runtime = ctx.runtime(step, rendered.key, confirmed)
        attempts = step.retries + 1

        def retry(attempt: int, exc: ActionFailed) -> None:
            ctx.record(
                "step_failed",
                f"{step.id}: attempt {attempt} of {attempts} failed: {exc}; retrying",
                step.id,
                {"attempt": attempt, "error": str(exc), "retrying": True},
            )
            time.sleep(ctx.options.retry_backoff * attempt)

        try:
            result = once.effect(
                assets, attempts, lambda: step.action.execute(rendered, runtime), retry
            )
        except ActionDeclined as exc:
            once.failed(rendered.key, str(exc))
            return stop(state, str(exc))
        except ActionFailed as exc:
            return self.settler.fail(step, state, str(exc), attempt=attempts)
        failpoint(step.id, "after")
        if step.verify is not None:
            try:
                verified = self.settler.check(step, step.verify)
            except (ActionFailed, RunbookError) as exc:
                return self.settler.fail(step, state, f"verify could not run: {exc}")
            if not verified.holds:
                why = f"verify failed after the effect: {verified.detail}"
                return self.settler.fail(step, state, why)
        once.done(rendered.key, result.output, result.effect_count)
        self.renderer.output(step.id, StepView("done", result.output))
        state.status, state.effect_count, state.message = "done", result.effect_count, "done"
        data = {"key": rendered.key, "output": brief(result.output)}
        if result.changed:
            data["changed"] = result.changed
            state.changed = result.changed
        said = f"{step.id}: done" + (" (verified)" if step.verify else "")
        ctx.record(
            "step_done", said + (f": {result.changed}" if result.changed else ""), step.id, data
        )
        return StepOutcome(state)
