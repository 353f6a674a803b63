"""Settling a step without (or before) its effect: already done, the desired state already
holds, in doubt after an interruption, failed (the step's `on_failure` policy), done by hand.

Every ledger write goes through `execute_once` with this session's fencing token, so a session
that was taken over cannot settle anything either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from incidents.ledger import LedgerEntry
from runbooks.actions import Action, ActionFailed, CheckResult, RenderedAction
from runbooks.errors import RunbookError
from runbooks.execute_once import ExecuteOnce
from runbooks.prompts import Settlement
from runbooks.render import StepRenderer
from runbooks.run_context import RunContext
from runbooks.run_state import StepOutcome, StepState
from runbooks.schema import StepSpec
from runbooks.templating import StepView

_SETTLEMENT_WORDS = {
    "done": "it took effect; not repeated",
    "redo": "it did not take effect; run it again",
    "stop": "unknown; stop here",
}


class Settler:
    def __init__(
        self, ctx: RunContext, renderer: StepRenderer, once: Callable[[], ExecuteOnce]
    ) -> None:
        self.ctx = ctx
        self.renderer = renderer
        self._once = once

    def load_states(self) -> set[str]:
        """Fill step states from the ledger: steps this run finished, in doubt or failed, and the
        outputs of done steps (later templates may use them). Stops at the first step that cannot
        be rendered yet (it needs an output that does not exist). Returns the ids of the steps
        this run already finished."""
        ctx = self.ctx
        finished: set[str] = set()
        for step in ctx.runbook.spec.steps:
            try:
                rendered = self.renderer.action(step)
            except RunbookError:
                break
            state = ctx.states[step.id]
            state.key, state.rendered = rendered.key, rendered
            entry = ctx.store.ledger_get(rendered.key) if rendered.key else None
            if entry is None:
                continue
            if entry.status == "done":
                ctx.outputs[step.id] = StepView("done", entry.output or {})
            if ctx.run_id is None or entry.run_id != ctx.run_id:
                if entry.status == "done":
                    state.message = f"already done by {entry.run_id}"
                continue
            state.effect_count = entry.effect_count
            if entry.status == "done":
                skipped = bool((entry.output or {}).get("skipped"))
                state.status = "skipped" if skipped else "done"
                state.message = str((entry.output or {}).get("skipped") or "done")
                finished.add(step.id)
            elif entry.status == "started":
                state.status = "in_doubt"
                state.message = "started before an interruption; not recorded done"
            else:
                state.status = "failed"
                state.message = entry.error or "failed"
        self.renderer.refresh_titles()
        return finished

    def check(self, step: StepSpec, check: Action) -> CheckResult:
        """Run a check (or verify) of `step`: it only reads."""
        rendered, expect = self.renderer.check(step, check)
        return check.check(rendered, self.ctx.runtime(step, None, False), expect)

    def already_done(self, step: StepSpec, state: StepState, entry: LedgerEntry) -> StepOutcome:
        self.renderer.output(step.id, StepView("done", entry.output or {}))
        state.status, state.effect_count = "skipped", 0
        when = entry.finished_at.isoformat(timespec="seconds") if entry.finished_at else "?"
        state.message = f"already done ({entry.run_id}, {when})"
        self.ctx.record(
            "step_skipped",
            f"{step.id}: already done by {entry.run_id} at {when}; not repeated",
            step.id,
            {"reason": "already done", "key": entry.key, "done_by": entry.run_id},
        )
        return StepOutcome(state)

    def skip_if_holds(
        self, step: StepSpec, state: StepState, rendered: RenderedAction, entry: LedgerEntry | None
    ) -> StepOutcome | None:
        """The desired state already holds: recorded as done with no effect, without asking."""
        assert step.check is not None and rendered.key is not None
        try:
            result = self.check(step, step.check)
        except (ActionFailed, RunbookError) as exc:
            return self.fail(step, state, f"check failed: {exc}")
        if not result.holds:
            return None
        why = f"desired state already holds ({result.detail})"
        output = {"skipped": why, "observed": result.observed}
        once = self._once()
        entry = once.begin(rendered.key, step.id, rendered.as_dict(), entry)
        if not once.owns(entry):
            return None  # another run got there: the effect path says so
        once.done(rendered.key, output, 0)
        self.renderer.output(step.id, StepView("skipped", output))
        state.status, state.effect_count, state.message = "skipped", 0, why
        self.ctx.record(
            "step_skipped",
            f"{step.id}: {why}",
            step.id,
            {"reason": "check holds", "observed": result.observed, "key": rendered.key},
        )
        return StepOutcome(state)

    def in_doubt(
        self, step: StepSpec, state: StepState, rendered: RenderedAction, entry: LedgerEntry
    ) -> StepOutcome | None:
        """A step started but not finished (a crash, a frozen process), already claimed by this
        session: did its effect happen? None: redo it."""
        assert rendered.key is not None
        ctx = self.ctx
        state.status = "in_doubt"
        since = entry.started_at.isoformat(timespec="seconds")
        who = f"started by {entry.run_id} (attempt {entry.attempts - 1}) at {since}"
        if step.check is not None:
            try:
                result = self.check(step, step.check)
            except (ActionFailed, RunbookError) as exc:
                state.message = f"in doubt, and its check failed: {exc}"
                ctx.record("step_failed", f"{step.id}: {state.message}", step.id)
                return StepOutcome(state, stop=True)
            if result.holds:
                output = {"settled": "check", "observed": result.observed}
                self._once().done(rendered.key, output, 0)
                self.renderer.output(step.id, StepView("done", output))
                state.status, state.effect_count = "done", 0
                state.message = f"in doubt after an interruption; its check shows it took effect ({result.detail})"
                ctx.record(
                    "step_done",
                    f"{step.id}: {who} and interrupted; its check shows the effect is in place "
                    f"({result.detail}), so it is not repeated",
                    step.id,
                    {"settled": "check", "observed": result.observed, "key": rendered.key},
                )
                return StepOutcome(state)
            ctx.record(
                "decision",
                f"{step.id}: {who} and interrupted; its check shows no effect "
                f"({result.detail}), so it runs again",
                step.id,
                {"settled": "check", "observed": result.observed, "key": rendered.key},
            )
            return None
        answer: Settlement = ctx.prompter.settle_in_doubt(state, rendered.text)
        ctx.record(
            "decision",
            f"{step.id}: in doubt after an interruption ({who}); "
            f"{ctx.actor} answered: {_SETTLEMENT_WORDS[answer]}",
            step.id,
            {"settled": "operator", "answer": answer, "key": rendered.key},
        )
        if answer == "done":
            self._once().done(rendered.key, {"settled": "operator"}, 0)
            self.renderer.output(step.id, StepView("done", {}))
            state.status, state.effect_count = "done", 0
            state.message = "in doubt; the operator confirmed it took effect"
            return StepOutcome(state)
        if answer == "stop":
            state.message = "in doubt; no check, and the operator did not settle it"
            return StepOutcome(state, stop=True)
        return None

    def fail(
        self,
        step: StepSpec,
        state: StepState,
        error: str,
        *,
        attempt: int | None = None,
        force_stop: bool = False,
    ) -> StepOutcome:
        """The step failed: recorded, then its `on_failure` says stop, continue, or ask the
        operator to fix it by hand."""
        ctx = self.ctx
        key = state.key
        if key and ctx.run_id:
            current = ctx.store.ledger_get(key)
            if current is not None and current.status == "started":
                self._once().failed(key, error)
        state.status, state.effect_count, state.message = "failed", 0, error
        data: dict[str, Any] = {"error": error, "on_failure": step.on_failure}
        if attempt:
            data["attempts"] = attempt
        ctx.record("step_failed", f"{step.id}: failed: {error}", step.id, data)
        if force_stop or step.on_failure == "stop":
            state.message = error
            return StepOutcome(state, stop=True)
        if step.on_failure == "continue":
            return StepOutcome(state)
        question = f"{step.id} failed: {error}. Fix it by hand, then confirm the step is done."
        if key and ctx.prompter.confirm_manual(state, question):
            once = self._once()
            once.begin(key, step.id, {}, ctx.store.ledger_get(key))
            once.done(key, {"settled": "operator", "after": error}, 0)
            self.renderer.output(step.id, StepView("done", {}))
            state.status, state.message = "done", "failed; fixed by hand (operator confirmed)"
            ctx.record(
                "decision",
                f"{step.id}: {ctx.actor} fixed it by hand after the failure",
                step.id,
                {"settled": "operator", "error": error},
            )
            return StepOutcome(state)
        return StepOutcome(state, stop=True)

    def mark_done(self, step: StepSpec, reason: str) -> StepOutcome:
        """The operator did the step by hand: recorded done (0 effects by oncall) with the why."""
        ctx = self.ctx
        state = ctx.states[step.id]
        rendered = self.renderer.action(step)
        assert rendered.key is not None
        entry = ctx.store.ledger_get(rendered.key)
        if entry is None or entry.status != "done":
            once = self._once()
            once.begin(rendered.key, step.id, rendered.as_dict(), entry)
            once.done(rendered.key, {"settled": "operator", "reason": reason}, 0)
        self.renderer.output(step.id, StepView("done", {}))
        state.status, state.effect_count = "done", 0
        state.message = f"marked done by the operator: {reason}"
        ctx.record(
            "decision",
            f"{step.id}: {ctx.actor} marked it done by hand: {reason}",
            step.id,
            {"settled": "operator", "reason": reason},
        )
        return StepOutcome(state)


def count_statuses(steps: Sequence[StepState]) -> str:
    counts: dict[str, int] = {}
    for s in steps:
        counts[s.status] = counts.get(s.status, 0) + 1
    return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in counts.items())


def brief(output: Mapping[str, Any]) -> dict[str, Any]:
    """The output as the timeline keeps it: long text cut, so events stay small."""
    kept: dict[str, Any] = {}
    for key, value in output.items():
        if isinstance(value, str) and len(value) > 500:
            value = value[-500:]
        elif isinstance(value, list) and len(value) > 10:
            value = value[:10]
        kept[key] = value
    return kept


def left_behind(
    steps: Sequence[StepState], status: str, run_id: str | None, *, fenced: bool
) -> tuple[tuple[str, ...], str | None]:
    """For a run that stopped part-way: what its finished steps left changed, and how to go on
    (resume) or back (undo those steps by hand). Nothing for a run that finished or a dry run."""
    if status not in ("failed", "interrupted") or run_id is None:
        return (), None
    if fenced:
        return (), f"{run_id} is another session's now"
    left = tuple(
        s.id + (f" ({s.changed})" if s.changed else "")
        for s in steps
        if s.status == "done" and s.effect_count > 0
    )
    hint = f"continue with `oncall runbook resume {run_id}`"
    return left, hint + (", or undo those steps by hand" if left else "")
