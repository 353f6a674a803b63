"""The incident's recovery plan, and running it: `r` walks the plan in order, opening the runbook
run screen for each step (the same engine path, leases and typed confirmations as any run); when
a run is done the next step opens. What is done, what to resume and what is left to people is
read from the store with `runbooks.plan.progress`, the function `oncall recover` walks with, and
the plan and each decision go on the timeline through the same `record_*` functions. So a done
step is never run again, pressing `r` after stopping anywhere continues, and the app and
`oncall recover INC` can take turns on the same recovery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Static

from tui.problems import Problem, explain
from tui.screens.base import OncallScreen
from tui.widgets.notice import Notice
from tui.widgets.title_bar import TitleBar
from tui.widgets.vocabulary import short_ref

if TYPE_CHECKING:
    from runbooks.plan import Plan, PlanStep, StepProgress

MARKS = {"done": "✔", "unfinished": "◐", "to_run": "·", "manual": "✋"}


class PlanScreen(OncallScreen[None]):
    BINDINGS = [
        Binding("r", "run_plan", "Run plan", tooltip="Run the plan from its first step not done"),
        Binding("enter", "run_plan", "Run plan", show=False),
    ]

    class Progressed(Message):
        """Where the steps stand; `opens` is the step to open next, if the walk goes on."""

        def __init__(
            self,
            steps: list[StepProgress],
            opens: StepProgress | None = None,
            just_done: StepProgress | None = None,
        ) -> None:
            super().__init__()
            self.steps = steps
            self.opens = opens
            self.just_done = just_done

    class Stopped(Message):
        def __init__(self, steps: list[StepProgress], at: StepProgress) -> None:
            super().__init__()
            self.steps = steps
            self.at = at

    class Finished(Message):
        def __init__(self, steps: list[StepProgress]) -> None:
            super().__init__()
            self.steps = steps

    class Failed(Message):
        def __init__(self, problem: Problem) -> None:
            super().__init__()
            self.problem = problem

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan
        self.steps: list[StepProgress] = []
        self.walking = False  # between `r` and the walk stopping or finishing

    def compose(self) -> ComposeResult:
        plan = self.plan
        yield TitleBar(f"Recovery plan · {plan.incident}")
        yield Notice(id="notice")
        yield Static(
            Content.from_markup(
                "[b]$asset[/b] bad since $since · $n steps, sources first · [b]r[/b] runs "
                "each in turn in the run screen (done steps are not run again)",
                asset=short_ref(plan.asset),
                since=plan.since.replace("T", " ").replace(":00Z", " UTC"),
                n=str(len(plan.steps)),
            ),
            id="plan-summary",
        )
        with VerticalScroll(id="plan-steps"):
            for step in plan.steps:
                yield Static(_label(step, None), id=f"step-{step.number}", classes="plan-step")
                yield Static(
                    _changes(step, None), id=f"step-{step.number}-changes", classes="plan-changes"
                )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#plan-steps").focus()
        self.walk(begin=False, closed=None, advance=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run_plan":
            return True if not self.walking else None
        return super().check_action(action, parameters)

    # --- walking the plan ---------------------------------------------------------------------

    def action_run_plan(self) -> None:
        if self.walking:
            return
        self.walking = True
        self.refresh_bindings()
        self.query_one(Notice).clear()
        self.walk(begin=True, closed=None, advance=True)

    @work(thread=True, exclusive=True, group="plan")
    def walk(self, *, begin: bool, closed: PlanStep | None, advance: bool) -> None:
        """Read where the plan stands and decide what comes next, as `oncall recover` does:
        `closed` is the step whose run screen just closed (its run done, or the walk stops
        there); `advance` opens the next step not done, or records the recovery finished."""
        from runbooks.plan import next_step

        backend = self.backend
        try:
            steps = backend.plan_progress(self.plan, begin=begin)
            just_done = None
            if closed is not None:
                now = steps[closed.number - 1]
                if now.state != "done":
                    backend.recovery_stopped(self.plan, now)
                    self.post_message(self.Stopped(steps, now))
                    return
                just_done = now
            if not advance:
                self.post_message(self.Progressed(steps))
                return
            following = next_step(steps)
            if following is None:
                backend.recovery_finished(self.plan, steps)
                self.post_message(self.Finished(steps))
                return
        except Exception as exc:
            self.post_message(self.Failed(explain(exc)))
            return
        self.post_message(self.Progressed(steps, following, just_done))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        self._show(message.steps)
        if message.opens is not None:
            self._open(message.opens, message.just_done)

    def _open(self, item: StepProgress, just_done: StepProgress | None) -> None:
        from tui.screens.runbook_run import RunbookRunScreen

        step = item.step
        assert step.runbook is not None
        said = []
        if just_done is not None and just_done.run is not None:
            said.append(f"✔ Step {just_done.step.number} done ({just_done.run.id}).")
        by_hand = [
            s.step
            for s in self.steps
            if s.state == "manual"
            and s.step.number < step.number
            and s.step.number > _after(just_done)
        ]
        for manual in by_hand:
            said.append(
                f"✋ Step {manual.number} is by hand, not run here: {short_ref(manual.asset)} "
                f"({short_ref(manual.owner) if manual.owner else 'no owner'})."
            )
        what = f"{step.runbook} for {short_ref(step.asset)}"
        if item.state == "unfinished" and item.run is not None:
            said.append(
                f"Plan step {step.number} of {len(self.plan.steps)}: resuming {item.run.id} ({what})."
            )
            screen = RunbookRunScreen(
                self.plan.incident,
                run_id=item.run.id,
                intro=" ".join(said),
                dismiss_when_done=True,
            )
        else:
            said.append(f"Plan step {step.number} of {len(self.plan.steps)}: {what}.")
            screen = RunbookRunScreen(
                self.plan.incident,
                step.runbook,
                asset_ref=step.asset,
                params=step.params,
                intro=" ".join(said),
                dismiss_when_done=True,
            )
        self.app.push_screen(screen, callback=lambda _result: self._run_closed(step))

    def _run_closed(self, step: PlanStep) -> None:
        self.walk(begin=False, closed=step, advance=True)

    @on(Stopped)
    def _stopped(self, message: Stopped) -> None:
        self._stop_walking(message.steps)
        item = message.at
        run = item.run
        state = f"{run.id} is {run.status}" if run is not None else "its run did not start"
        self.query_one(Notice).show_problem(
            Problem(
                f"Recovery stopped at step {item.step.number} ({item.step.runbook} for "
                f"{short_ref(item.step.asset)}): {state}.",
                "Press r to continue from there (done steps are not run again); "
                "it is on the timeline.",
                kind="warning",
            )
        )

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self._stop_walking(message.steps)
        runs = [s.run.id for s in message.steps if s.state == "done" and s.run is not None]
        done = f"✔ Recovery plan done: {len(runs)} runbook run{'s' if len(runs) != 1 else ''}"
        done += f" ({', '.join(runs)})." if runs else "."
        manual = [s.step for s in message.steps if s.state == "manual"]
        if not manual:
            self.query_one(Notice).show_info(
                f"{done} Escape: back to the incident, where m marks it mitigated and P "
                "drafts the postmortem."
            )
            return
        items = "; ".join(
            f"{short_ref(m.asset)} ({short_ref(m.owner) if m.owner else 'no owner'})"
            for m in manual
        )
        self.query_one(Notice).show_problem(
            Problem(
                f"{done} Left by hand: {items}.",
                "Ask each owner to recover theirs; oncall ran no runbook for them.",
                kind="warning",
            )
        )

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.walking = False
        self.refresh_bindings()
        self.query_one(Notice).show_problem(message.problem)

    def _stop_walking(self, steps: list[StepProgress]) -> None:
        self.walking = False
        self._show(steps)
        self.refresh_bindings()

    def _show(self, steps: list[StepProgress]) -> None:
        self.steps = steps
        for item in steps:
            number = item.step.number
            self.query_one(f"#step-{number}", Static).update(_label(item.step, item))
            changes = _changes(item.step, item)
            shown = self.query_one(f"#step-{number}-changes", Static)
            shown.update(changes)
            shown.display = bool(changes.plain)


def _after(item: StepProgress | None) -> int:
    return item.step.number if item is not None else 0


def _label(step: PlanStep, item: StepProgress | None) -> Content:
    owner = short_ref(step.owner) if step.owner else "no owner"
    versions = f" (versions {', '.join(step.versions)})" if step.versions else ""
    mark = MARKS[item.state] if item is not None else " "
    if step.manual:
        return Content.from_markup(
            "$mark $n. [b]BY HAND[/b]  $asset$versions — $owner: $reason",
            mark=mark,
            n=str(step.number),
            asset=short_ref(step.asset),
            versions=versions,
            owner=owner,
            reason=step.reason,
        )
    state = ""
    if item is not None and item.run is not None:
        state = (
            f" · done by {item.run.id}"
            if item.state == "done"
            else f" · {item.run.id} {item.run.status}: r resumes it"
        )
    head = Content.from_markup(
        "$mark $n. [b]$runbook[/b]  $asset$versions — $owner$state",
        mark=mark,
        n=str(step.number),
        runbook=step.runbook or "",
        asset=short_ref(step.asset),
        versions=versions,
        owner=owner,
        state=state,
    )
    return head


def _changes(step: PlanStep, item: StepProgress | None) -> Content:
    """What the step will change (from a dry run), until it is done: then its run says."""
    if item is not None and item.state == "done":
        return Content("")
    return Content("\n".join(f"- {change}" for change in step.changes))
