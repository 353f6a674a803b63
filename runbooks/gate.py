"""The gate before a step's effect: may this operator do it, and did they say yes?

A destructive step needs the operator to own every asset it changes or be on call for it, or
break-glass with a written reason (recorded as an `override`), and a typed confirmation. Any
other step is confirmed unless `--yes`. The gate asks; it never acts and never leases: the lease
is checked after it, immediately before the effect (`execute_once`), because a prompt can stay
open for as long as the operator likes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runbooks.actions import ActionFailed, Preview, RenderedAction
from runbooks.errors import CannotConfirm, NotPermitted, RunbookError
from runbooks.permissions import (
    BreakGlassRequest,
    Permission,
    contacts_for,
    destructive_permission,
)
from runbooks.run_context import RunContext
from runbooks.run_state import EngineEvent, StepState
from runbooks.schema import StepSpec

#: A break-glass reason is at least a sentence: who could not be reached, and why now.
MIN_BREAK_GLASS_REASON = 15


def check_break_glass_reason(reason: str) -> str:
    """The reason, stripped, or `RunbookError` when it is too short to tell anyone anything."""
    text = " ".join(reason.split())
    if len(text) < MIN_BREAK_GLASS_REASON:
        raise RunbookError(
            f"a break-glass reason needs at least a sentence ({MIN_BREAK_GLASS_REASON} "
            f"characters or more, e.g. who you could not reach and why it cannot wait); got "
            f"{text!r}"
        )
    return text


@dataclass(frozen=True)
class Refusal:
    """Why a step does not run (declined, not permitted): the run stops there."""

    why: str


class Gate:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.denied: tuple[str, ...] = ()

    def decide_up_front(self, destructive_assets: list[str]) -> None:
        """Before the run's first effect: may the operator run every destructive step it will
        reach (owner, on call)? If not, break-glass with a reason, asked once (the option, else
        the prompter); without one the run is refused now, having changed nothing."""
        ctx = self.ctx
        if not destructive_assets:
            return
        permission = destructive_permission(
            ctx.catalog, ctx.operator, destructive_assets, ctx.clock()
        )
        if permission.allowed:
            return
        request = self.break_glass_request(permission)
        if self._break_glass_reason(request) is None:
            raise NotPermitted(
                f"{permission.denial(ctx.operator)}; without a break-glass reason the run was "
                "refused before any step ran, nothing was changed",
                request,
            )
        self.denied = permission.denied_assets

    def break_glass_request(self, permission: Permission) -> BreakGlassRequest:
        """The question put to an operator who may not run this run's destructive steps, with
        the owner and the person on call for each asset (whom to call instead)."""
        ctx = self.ctx
        contacts = contacts_for(ctx.catalog, permission.denied_assets, ctx.clock())
        return BreakGlassRequest(ctx.operator, permission, tuple(contacts), MIN_BREAK_GLASS_REASON)

    def _break_glass_reason(self, request: BreakGlassRequest) -> str | None:
        """The run's break-glass reason: the option, else asked of the operator (once: the
        answer becomes the option). None when there is none; a too-short one is refused."""
        ctx = self.ctx
        reason = ctx.options.break_glass
        if reason is None:
            reason = ctx.prompter.break_glass(request)
        if not reason or not reason.strip():
            return None
        ctx.options.break_glass = check_break_glass_reason(reason)
        return ctx.options.break_glass

    def require_confirmable(self, pending_destructive: Callable[[], list[str]]) -> None:
        """Before the run's first effect: a run that will stop at a destructive step for a
        confirmation nobody can give (a script without `--yes-destructive`) is refused now,
        having changed nothing, rather than after its earlier steps ran (e.g. a paused ETL).
        `pending_destructive` (it runs checks) is asked only when nobody could confirm."""
        ctx = self.ctx
        if ctx.options.yes_destructive or ctx.prompter.can_confirm_destructive():
            return
        pending = pending_destructive()
        if not pending:
            return
        steps = ", ".join(pending)
        raise CannotConfirm(
            f"{ctx.runbook.id} reaches destructive step{'s' if len(pending) > 1 else ''}"
            f" {steps}, which must be confirmed: run it on a terminal or in the app, or pass "
            "--yes-destructive; refused before any step ran, nothing was changed"
        )

    def record_break_glass(self) -> None:
        """The one `override` event of a run that breaks glass (once the run exists)."""
        ctx = self.ctx
        denied = self.denied
        if not denied or ctx.break_glass_recorded:
            return
        ctx.break_glass_recorded = True
        ctx.record(
            "override",
            f"break-glass by {ctx.actor} on {', '.join(denied)} for this run's destructive "
            f"steps: {ctx.options.break_glass}",
            data={"break_glass": ctx.options.break_glass, "assets": list(denied)},
        )

    def preview(
        self, step: StepSpec, rendered: RenderedAction, *, report: bool = True
    ) -> Preview | None:
        """What the effect would change, read before anyone is asked (`Action.preview`); shown
        under the action (an engine event of kind `preview`, never a timeline event). A preview
        that cannot be read is said, and does not stop the step: the confirmation still asks."""
        ctx = self.ctx
        try:
            preview = step.action.preview(rendered, ctx.runtime(step, None, False))
        except (ActionFailed, RunbookError) as exc:
            preview = Preview(f"(no preview: {exc})", {"error": str(exc)})
        if preview is not None and report and ctx.on_event is not None:
            ctx.on_event(
                EngineEvent(
                    "preview",
                    preview.text,
                    step.id,
                    {"step": step.id, "preview": preview.text, "data": dict(preview.data)},
                )
            )
        return preview

    def admit(
        self,
        step: StepSpec,
        state: StepState,
        rendered: RenderedAction,
        assets: list[str],
        confirmed: bool,
    ) -> Refusal | None:
        """Permission, then confirmation. None: go ahead (the lease is checked next)."""
        ctx = self.ctx
        if step.destructive:
            permission = destructive_permission(ctx.catalog, ctx.operator, assets, ctx.clock())
            basis = "owner or on call"
            if not permission.allowed:
                basis = "break-glass"
                # Decided up front unless this step's assets could not be known then (they
                # come from an earlier step's output): then asked now, still once per run.
                if self._break_glass_reason(self.break_glass_request(permission)) is None:
                    return Refusal(f"{permission.denial(ctx.operator)}; no break-glass reason")
                if not ctx.break_glass_recorded:  # a reason given mid-run
                    ctx.break_glass_recorded = True
                    ctx.record(
                        "override",
                        f"{step.id}: break-glass by {ctx.actor} on "
                        f"{', '.join(permission.denied_assets)}: {ctx.options.break_glass}",
                        step.id,
                        {"break_glass": ctx.options.break_glass, "assets": list(assets)},
                    )
            asked = confirmed or ctx.options.yes_destructive
            if not asked and not ctx.prompter.confirm_destructive(state, assets, rendered.text):
                return Refusal("destructive step declined")
            ctx.record(
                "decision",
                f"{step.id}: {ctx.actor} confirmed the destructive step on {', '.join(assets)}",
                step.id,
                {"assets": list(assets), "confirmed": True, "permission": basis},
            )
            return None
        if not (confirmed or ctx.options.yes) and not ctx.prompter.confirm_step(
            state, rendered.text
        ):
            return Refusal("step declined")
        return None
