"""The incident's recovery plan: one step per contaminated asset, sources first. Enter on a step
opens the runbook run screen for it (parameters prefilled from the incident's alert, as the plan
fills them); a manual step says who owns the asset. `oncall recover INC` runs the same plan from
a shell."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.screens.base import OncallScreen
from tui.widgets.title_bar import TitleBar
from tui.widgets.vocabulary import short_ref

if TYPE_CHECKING:
    from runbooks.plan import Plan, PlanStep


class PlanScreen(OncallScreen[None]):
    BINDINGS = [
        Binding("enter", "run_step", "Run step", tooltip="Open the highlighted step's runbook"),
    ]

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        yield TitleBar(f"Recovery plan for {self.plan.incident}")
        yield Static(
            f"{short_ref(self.plan.asset)} bad since {self.plan.since}: "
            f"{len(self.plan.steps)} steps, sources first. Enter runs the highlighted step; "
            f"`oncall recover {self.plan.incident}` runs them all.",
            id="plan-summary",
        )
        yield OptionList(
            *(Option(_label(s), id=f"step-{s.number}") for s in self.plan.steps), id="plan-steps"
        )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def _step(self) -> PlanStep | None:
        index = self.query_one(OptionList).highlighted
        return None if index is None else self.plan.steps[index]

    def action_run_step(self) -> None:
        step = self._step()
        if step is None or step.manual or step.runbook is None:
            return
        self.oncall.open_runbook(self.plan.incident, step.runbook, step.asset)

    @on(OptionList.OptionSelected)
    def _selected(self, _event: OptionList.OptionSelected) -> None:
        self.action_run_step()


def _label(step: PlanStep) -> str:
    owner = short_ref(step.owner) if step.owner else "no owner"
    versions = f" (versions {', '.join(step.versions)})" if step.versions else ""
    if step.manual:
        return f"{step.number}. BY HAND  {short_ref(step.asset)}{versions} — {owner}: {step.reason}"
    return f"{step.number}. {step.runbook}  {short_ref(step.asset)}{versions} — {owner}"
