"""Running a vetted runbook for an incident, one step at a time, seeing each step before it runs.

Phases: the parameters form (validated by the engine's own rules, dry run on or off), then the
steps. A recovery that is already done for this asset says so first (`runbooks.already_done`,
the same answer the CLI prints), and starting it again is an explicit choice. The engine's
`RunSession` is driven step by step from thread workers, in the engine's order: checks before
any question. Steps with nothing to do (done already, or their check holds) are settled as they
come up without asking; `x` runs the current step (pressing it is the confirmation; for a
destructive step the engine asks for the asset's name after its check, showing what it will
change), `s` skips it and `d` records it done by hand, each with a reason for the timeline.
Break-glass is decided as the run starts, once. A lease held by another run is shown with its
holder, and `ctrl+f` takes it over with a written reason. Opened with a run id, the screen
resumes an interrupted run instead of starting one.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Footer, RichLog, Static

from tui.problems import Problem, explain
from tui.screens.base import OncallScreen, refusals
from tui.screens.choice import ChoiceScreen
from tui.screens.prompt import TextPromptScreen
from tui.screens.run_prompter import TuiPrompter
from tui.widgets.notice import Notice
from tui.widgets.params_form import ParamsForm
from tui.widgets.people import shorten_refs
from tui.widgets.step_detail import StepDetail
from tui.widgets.step_list import StepList, current_step
from tui.widgets.title_bar import TitleBar
from tui.widgets.vocabulary import format_duration, prose, short_ref

if TYPE_CHECKING:
    from graph.model import Catalog
    from incidents.leases import Lease
    from incidents.records import Incident
    from runbooks.already_done import AlreadyDone
    from runbooks.leasing import RunStillActive
    from runbooks.run_state import EngineEvent, RenderedStep, RunOptions, RunReport, StepState
    from runbooks.schema import Runbook, RunbookSpec
    from runbooks.session import RunSession

#: The keys that work on steps; pressed at the wrong moment each is refused out loud.
STEP_KEYS = ("x", "a", "s", "d")

_Worker = TypeVar("_Worker", bound=Callable[..., None])


def _holds_store(method: _Worker) -> _Worker:
    """A run worker holds the store in use (`Backend.in_use`) while it runs: quitting the
    app waits for it before closing the store the session writes through."""

    @functools.wraps(method)
    def holding(self: RunbookRunScreen, *args: object, **kwargs: object) -> None:
        with self.backend.in_use():
            method(self, *args, **kwargs)

    return cast("_Worker", holding)


STATE_WORDS = {
    "vetted": "✔ vetted",
    "changed": "⚠ changed since vetting",
    "unlisted": "⚠ not vetted",
}


class RunbookRunScreen(OncallScreen[None]):
    """Params form, then steps with state, the current step's exact action, and the output."""

    BINDINGS = [
        Binding("ctrl+s", "start", "Start"),
        Binding("ctrl+t", "toggle_dry_run", "Dry run", tooltip="Toggle dry run (checks only)"),
        Binding("x", "run_step", "Run step", tooltip="Run the current step"),
        Binding(
            "a",
            "run_rest",
            "Run rest",
            tooltip="Run the remaining steps in turn, stopping where you are needed",
        ),
        Binding("s", "skip_step", "Skip", tooltip="Skip the current step (asks why)"),
        Binding("d", "mark_done", "Mark done", tooltip="Record the step done by hand (asks why)"),
        Binding(
            "ctrl+f", "force_lease", "Force lease", tooltip="Take over a held lease (asks why)"
        ),
        Binding("shift+down", "scroll_detail(3)", "Scroll down", show=False),
        Binding("shift+up", "scroll_detail(-3)", "Scroll up", show=False),
        # A step key pressed when it cannot act (a step still running, the run still starting
        # or already over) falls through to these: it is refused with a notice saying why,
        # never dropped in silence. No description: the help and footer list only the above.
        *refusals(*STEP_KEYS, "ctrl+s"),
    ]

    # --- messages from workers ----------------------------------------------------------------

    class Loaded(Message):
        def __init__(
            self,
            runbook: Runbook,
            state: str,
            catalog: Catalog,
            incident: Incident,
            prefill: dict[str, str],
        ) -> None:
            super().__init__()
            self.runbook = runbook
            self.state = state
            self.catalog = catalog
            self.incident = incident
            self.prefill = prefill  # the form's values from the alert and the incident's asset

    class FoundDone(Message):
        """This recovery would find nothing to do: said before the form is filled (`at_start`
        False) or, when ctrl+s is pressed, asked about before anything starts."""

        def __init__(self, done: AlreadyDone, at_start: bool) -> None:
            super().__init__()
            self.done = done
            self.at_start = at_start

    class Started(Message):
        def __init__(self, session: RunSession, forced: str | None = None) -> None:
            super().__init__()
            self.session = session
            self.forced = forced  # the reason, when this start took a lease or run over

    class Failed(Message):
        def __init__(
            self,
            problem: Problem,
            lease: Lease | RunStillActive | None = None,
            forced: str | None = None,
        ) -> None:
            super().__init__()
            self.problem = problem
            self.lease = lease
            self.forced = forced  # the reason, when this was a takeover that was refused

    class StepsChanged(Message):
        """The session's step states changed (a step ran, was skipped, or marked done)."""

    class Rendered(Message):
        def __init__(
            self, step_id: str, rendered: RenderedStep | None, problem: Problem | None
        ) -> None:
            super().__init__()
            self.step_id = step_id
            self.rendered = rendered
            self.problem = problem

    class Reported(Message):
        """The engine reported an event (it is also on the timeline, unless a dry run)."""

        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    class Finished(Message):
        def __init__(self, report: RunReport) -> None:
            super().__init__()
            self.report = report

    def __init__(
        self,
        incident_id: str,
        runbook_id: str | None = None,
        *,
        asset_ref: str | None = None,
        run_id: str | None = None,
        dry_run: bool = False,
        params: Mapping[str, str] | None = None,
        intro: str | None = None,
        dismiss_when_done: bool = False,
    ) -> None:
        """`params`: start at once with exactly these (a recovery plan's step: the plan is the
        form, and a run with other values would not be the plan's). `intro`: said on top when
        the screen opens. `dismiss_when_done`: return to the caller as soon as the run is done
        (the plan screen then opens its next step)."""
        super().__init__()
        self.incident_id = incident_id
        self.runbook_id = runbook_id
        self.asset_ref = asset_ref
        self.resume_id = run_id
        self.dry_run = dry_run
        self.given_params = dict(params) if params is not None else None
        self.intro = intro
        self.dismiss_when_done = dismiss_when_done
        self.runbook: Runbook | None = None
        self.vet_state = ""
        self.catalog: Catalog | None = None
        self.session: RunSession | None = None
        self.report: RunReport | None = None
        self.raw_params: dict[str, str] = {}
        self.lease_refused: Lease | RunStillActive | None = None
        self.busy: str | None = None
        self.busy_since = 0.0
        self.running_rest = False  # `a`: the remaining steps are being run one after another
        self.stop_rest = False  # escape during `a`: stop after the step under way
        self.rendered: dict[str, RenderedStep] = {}

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        title = f"Run {self.runbook_id or self.resume_id} · {self.incident_id}"
        yield TitleBar(title)
        yield Notice(id="notice")
        yield Static("Loading the runbook…", id="run-heading")
        with VerticalScroll(id="form-area"):
            yield Static("", id="runbook-description")
            with Horizontal(classes="dialog-buttons", id="form-buttons"):
                yield Button("Start ^s", variant="primary", compact=True, id="start")
                yield Button(Content("Dry run: off ^t"), compact=True, id="dry-toggle")
        with Horizontal(id="run-area"):
            yield StepList(id="steps")
            with Vertical(id="step-side"):
                yield StepDetail(id="step-detail")
                yield Static("", id="run-status")
                yield RichLog(id="run-log", wrap=True, markup=False, highlight=False, min_width=20)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#run-area").display = False
        self.query_one("#form-area").display = self.resume_id is None and self.given_params is None
        if self.intro:
            self.query_one(Notice).show_info(self.intro)
        self.query_one("#run-log", RichLog).border_title = "Output"
        self.set_interval(0.5, self._tick)
        self.load()

    def _tick(self) -> None:
        if self.busy:
            elapsed = format_duration_seconds(time.monotonic() - self.busy_since)
            step = self.busy_step is not None
            self.query_one("#run-status", Static).update(
                Content.from_markup(
                    "[$accent]▶ running[/] $s… $t" if step else "[$accent]▶ $s the run…[/] $t",
                    s=self.busy,
                    t=elapsed,
                )
            )

    def _heading(self) -> Content:
        if self.runbook is None:
            return Content("Loading the runbook…")
        mode = (
            "[$accent]◇ dry run: checks only, nothing changes[/]"
            if self.dry_run
            else "[$warning]● live[/]"
        )
        run = (
            f" · {self.session.run_id}" if self.session is not None and self.session.run_id else ""
        )
        return Content.from_markup(
            f"[b]$id[/b] v$v · $state · $inc$run · {mode}",
            id=self.runbook.id,
            v=str(self.runbook.version),
            state=STATE_WORDS.get(self.vet_state, self.vet_state),
            inc=self.incident_id,
            run=run,
        )

    def _refresh_heading(self) -> None:
        self.query_one("#run-heading", Static).update(self._heading())
        toggle = self.query_one("#dry-toggle", Button)
        toggle.label = Content(f"Dry run: {'on' if self.dry_run else 'off'} ^t")
        self.refresh_bindings()

    # --- loading ------------------------------------------------------------------------------

    @work(thread=True, group="run")
    def load(self) -> None:
        try:
            incident = self.backend.get_incident(self.incident_id)
            catalog = self.backend.catalog()
            if self.resume_id is not None:
                run = self.backend.store().get_run(self.resume_id)
                self.runbook_id = run.runbook_id
            assert self.runbook_id is not None
            runbook, state = self.backend.runbook(self.runbook_id)
            alert = self.backend.alert_params(self.incident_id)
        except Exception as exc:
            self.post_message(self.Failed(explain(exc)))
            return
        prefill = _prefill(runbook.spec, alert, self.asset_ref or incident.asset)
        self.post_message(self.Loaded(runbook, state, catalog, incident, prefill))
        if self.resume_id is None and state == "vetted":
            self._look_for_done(prefill, at_start=False)

    def _look_for_done(self, params: dict[str, str], *, at_start: bool) -> bool:
        """(In a worker.) Whether this recovery would find nothing to do with `params`; when it
        would, the screen says so (`FoundDone`). A failure to tell is not a refusal: starting
        reports any real problem."""
        assert self.runbook_id is not None
        try:
            done = self.backend.already_done(self.incident_id, self.runbook_id, params)
        except Exception:  # only a hint: the start itself reports any real problem
            return False
        if done is None:
            return False
        self.post_message(self.FoundDone(done, at_start))
        return True

    @on(Loaded)
    async def _loaded(self, message: Loaded) -> None:
        runbook = self.runbook = message.runbook
        self.vet_state = message.state
        self.catalog = message.catalog
        if message.state != "vetted" and not self.dry_run:
            self.dry_run = True
            self.query_one(Notice).show_problem(
                Problem(
                    f"{runbook.id} is not vetted as it stands ({STATE_WORDS[message.state]}).",
                    "It can be read and dry-run, never executed, until a reviewer vets it: "
                    "`oncall runbook vet FILE --reviewer NAME`.",
                    kind="warning",
                )
            )
        self._refresh_heading()
        if self.resume_id is not None:
            self._begin("resuming")
            self.resume(self.resume_id, None)
            return
        if self.given_params is not None and message.state == "vetted":
            self.raw_params = dict(self.given_params)
            self._begin("starting")
            self.start(self.raw_params, None)
            return
        self.query_one("#form-area").display = True
        spec = runbook.spec
        description = spec.description.strip() if spec.description else spec.title
        self.query_one("#runbook-description", Static).update(prose(description))
        form = ParamsForm(spec, message.prefill, message.catalog, id="params")
        await self.query_one("#form-area").mount(form, before="#form-buttons")
        form.focus_first()

    @on(FoundDone)
    def _found_done(self, message: FoundDone) -> None:
        done = message.done
        if not message.at_start:
            if self.session is None:  # the operator may have started meanwhile
                self.query_one(Notice).show_problem(
                    Problem(
                        _sentence(done.headline()),
                        "Starting again checks every step first and repeats nothing already "
                        "done (ctrl+s asks first); escape if the recovery is over.",
                        kind="warning",
                    )
                )
            return

        def answered(choice: str | None) -> None:
            if choice == "start":
                self._begin("starting")
                self.start(self.raw_params, None)

        self.app.push_screen(
            ChoiceScreen(
                f"Start {done.runbook_id} again?",
                f"It is {done.headline()}.\n\nStarting again opens a new run that checks "
                "every step first and repeats nothing already done.",
                # "Don't start" first: it has the focus, so a reflex Enter starts nothing.
                [("back", "Don't start", "n"), ("start", "Start anyway", "s")],
            ),
            callback=answered,
        )

    # --- starting -----------------------------------------------------------------------------

    def _form(self) -> ParamsForm | None:
        """The parameters form; there is none when the screen resumes a run."""
        forms = self.query(ParamsForm)
        return forms.first() if forms else None

    def action_start(self) -> None:
        form = self._form()
        if self.session is not None or self.runbook is None or self.busy or form is None:
            return
        raw, errors = form.validate()
        if errors:
            self.query_one(Notice).show_problem(
                Problem(
                    f"{len(errors)} parameter(s) need a fix: {', '.join(errors)}.",
                    "Each field says what is wrong under it; fix them and press ctrl+s again.",
                )
            )
            return
        self.raw_params = raw
        self.query_one(Notice).clear()
        if self.dry_run:
            self._begin("starting")
            self.start(raw, None)
        else:
            self._begin("checking")
            self.check_then_start(raw)

    @work(thread=True, group="run")
    @_holds_store
    def check_then_start(self, raw: dict[str, str]) -> None:
        """A live start of a recovery that would find nothing to do asks first (explicitly:
        "Start anyway"); any other starts at once (the screen stays busy until it has)."""
        try:
            found = self._look_for_done(raw, at_start=True)
        except BaseException:
            self._set_busy(None)
            raise
        if found:
            self._set_busy(None)
        else:
            self.start(raw, None)

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#dry-toggle")
    def _dry_pressed(self) -> None:
        self.action_toggle_dry_run()

    def action_toggle_dry_run(self) -> None:
        if self.resume_id is not None or (self.session is not None and not self.session.dry_run):
            return  # a live run is under way, or a resume (no form to go back to)
        if self.vet_state != "vetted":
            self.query_one(Notice).show_problem(
                Problem(
                    "Only a dry run is possible: this runbook is not vetted as it stands.",
                    "A reviewer vets it with `oncall runbook vet FILE --reviewer NAME`.",
                    kind="warning",
                )
            )
            return
        self.dry_run = not self.dry_run
        if self.session is not None:  # leave the finished dry run: back to the form
            self.session = None
            self.report = None
            self.rendered = {}
            self.query_one("#run-area").display = False
            self.query_one("#form-area").display = True
            form = self._form()
            if form is not None:
                form.focus_first()
        self._refresh_heading()

    def _engine_options(self, force_reason: str | None) -> RunOptions:
        from runbooks.run_state import RunOptions

        return RunOptions(dry_run=self.dry_run, force_reason=force_reason)

    def _prompter(self) -> TuiPrompter:
        return TuiPrompter(self.app, lambda text: self.post_message(self.Reported(text)))

    def _on_engine_event(self, event: EngineEvent) -> None:
        self.post_message(self.Reported(f"{event.kind}: {event.message}"))

    @work(thread=True, group="run")
    @_holds_store
    def start(self, raw: dict[str, str], force_reason: str | None) -> None:
        runbook = self.runbook
        assert runbook is not None
        self._open_session(
            "starting",
            lambda: self.backend.start_run(
                incident_id=self.incident_id,
                runbook_id=runbook.id,
                params=raw,
                options=self._engine_options(force_reason),
                prompter=self._prompter(),
                on_event=self._on_engine_event,
            ),
            force_reason,
        )

    @work(thread=True, group="run")
    @_holds_store
    def resume(self, run_id: str, force_reason: str | None) -> None:
        """`force_reason`: take the run over even if it may still be running elsewhere (the
        engine records the override and the reason on the timeline)."""
        self._open_session(
            "resuming",
            lambda: self.backend.resume_run(
                run_id=run_id,
                options=self._engine_options(force_reason),
                prompter=self._prompter(),
                on_event=self._on_engine_event,
            ),
            force_reason,
        )

    def _open_session(
        self, busy: str, open_session: Callable[[], RunSession], forced: str | None = None
    ) -> None:
        """Start or resume (in the calling worker): a refusal is shown in place, with the lease
        takeover offered when a lease is what stood in the way. `forced`: the written reason of
        a takeover, so the screen can say whether it was taken or refused. The screen stays
        busy through a successful start: `_started` hands over to the first step's worker."""
        self._set_busy(busy)
        try:
            session = open_session()
        except Exception as exc:
            self._set_busy(None)
            self.post_message(self.Failed(explain(exc), _takeover(exc), forced))
            return
        except BaseException:
            self._set_busy(None)
            raise
        self.post_message(self.Started(session, forced))

    @on(Started)
    def _started(self, message: Started) -> None:
        session = self.session = message.session
        self.lease_refused = None
        if message.forced:
            self.query_one(Notice).show_info(
                f"✔ Taken over: {session.run_id} holds the leases now. The takeover and "
                f"your reason ({message.forced}) are on the timeline."
            )
        elif self.intro:
            self.query_one(Notice).show_info(self.intro)  # a refusal may have replaced it
        else:
            self.query_one(Notice).clear()
        self.query_one("#form-area").display = False
        self.query_one("#run-area").display = True
        self._refresh_heading()
        self._show_steps()
        self.query_one(StepList).focus()
        self._begin("checking")
        if session.dry_run:
            self.dry_run_all()
        else:
            self.advance()

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.lease_refused = message.lease
        problem = refusal_problem(message.problem, message.lease, self.resume_id)
        # `user:default/erin.walsh` reads as erin.walsh: shorter, so the notice fits 80x24
        problem = Problem(
            shorten_refs(problem.message), shorten_refs(problem.next_step), kind=problem.kind
        )
        if message.forced:
            problem = Problem(
                f"Takeover refused: {problem.message}",
                f"Nothing changed; the refusal and your reason are on the timeline. "
                f"{problem.next_step}",
            )
        self.query_one(Notice).show_problem(problem)
        self._refresh_heading()

    # --- steps --------------------------------------------------------------------------------

    def _states(self) -> list[StepState]:
        return self.session.plan() if self.session is not None else []

    def _show_steps(self) -> None:
        states = self._states()
        self.query_one(StepList).show(states, running=self.busy_step)
        current = current_step(states)
        if current is None:
            self.query_one("#run-status", Static).update(self._summary(states))
            self.query_one(StepDetail).show_text(self._closing_words(states))
            return
        if current.id in self.rendered:
            self.query_one(StepDetail).show(self.rendered[current.id], current)
        else:
            self.query_one(StepDetail).show_text(f"Rendering {current.id}…")
            self.render_step(current.id)
        if not self.busy:
            self.query_one("#run-status", Static).update(self._next_hint(current))

    @property
    def busy_step(self) -> str | None:
        """The step being worked on, if what keeps the screen busy is a step."""
        if self.busy and self.session is not None and self.busy in self.session.states:
            return self.busy
        return None

    def _next_hint(self, current: StepState) -> Content:
        if self.session is not None and self.session.dry_run:
            return Content.from_markup(
                "[dim]Dry run finished · ctrl+t: back to the form for a live run[/]"
            )
        what = "x checks, then asks the name" if current.destructive else "x runs it"
        return Content.from_markup("Next: [b]$id[/b] · $what", id=current.id, what=what)

    def _closing_words(self, states: list[StepState]) -> Content:
        if self.session is not None and self.session.dry_run:
            return Content.from_markup(
                "[b]Dry run finished.[/b] Nothing was changed and nothing was recorded.\n"
                "ctrl+t goes back to the form for a live run; escape returns to the incident."
            )
        effects = sum(s.effect_count for s in states)
        changes = [
            Content.from_markup("  $id: $c", id=s.id, c=s.changed) for s in states if s.changed
        ]
        words = Content.from_markup(
            "[b]Every step is done or skipped[/b] ($n effects by oncall).\n"
            "The timeline has each step. Escape returns to the incident: mark it mitigated "
            "(m) when the harm has stopped, and draft the postmortem (P).",
            n=str(effects),
        )
        if not changes:
            return words
        return Content("\n").join([words, Content.from_markup("[b]What changed[/b]"), *changes])

    def _summary(self, states: list[StepState]) -> Content:
        counts: dict[str, int] = {}
        for state in states:
            counts[state.status] = counts.get(state.status, 0) + 1
        text = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in counts.items())
        if self.report is not None and self.report.status == "dry_run":
            return Content.from_markup("[b]Dry run[/b]: $text", text=text)
        if self.report is not None:
            return Content.from_markup(
                "[b]$run $status[/b]: $text",
                run=self.report.run_id or "The run",
                status=self.report.status,
                text=text,
            )
        return Content(text)

    @work(thread=True, group="render")
    def render_step(self, step_id: str) -> None:
        session = self.session
        if session is None:
            return
        try:
            rendered = session.render(step_id)
        except Exception as exc:
            self.post_message(self.Rendered(step_id, None, explain(exc)))
            return
        self.post_message(self.Rendered(step_id, rendered, None))

    @on(Rendered)
    def _rendered(self, message: Rendered) -> None:
        if message.rendered is not None:
            self.rendered[message.step_id] = message.rendered
        current = current_step(self._states())
        if current is None or current.id != message.step_id:
            return
        if message.rendered is not None:
            self.query_one(StepDetail).show(message.rendered, current)
        else:
            assert message.problem is not None
            self.query_one(StepDetail).show_text(
                Content.from_markup(
                    "[b]$id[/b]: cannot show the action yet.\n$m\n[dim]$n[/]",
                    id=message.step_id,
                    m=message.problem.message,
                    n=message.problem.next_step,
                )
            )

    def _current(self) -> StepState | None:
        return current_step(self._states())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        live = self.session is not None and not self.session.dry_run
        if action == "start":
            if self.session is not None or self.resume_id is not None:
                return False  # resuming has no form to start from
            return True if self.runbook is not None and not self.busy else None
        if action == "toggle_dry_run":
            if self.resume_id is not None or (
                self.session is not None and not self.session.dry_run
            ):
                return False
            return True if self.runbook is not None and not self.busy else None
        if action in ("run_step", "run_rest", "skip_step", "mark_done"):
            if self.session is None or self.report is not None or self.session.dry_run:
                return False
            # Shown dimmed while busy; a press then falls through to `refused`, which says why.
            ok = live and not self.busy and self.report is None and self._current() is not None
            return True if ok else None
        if action == "force_lease":
            return self.lease_refused is not None and not self.busy
        return super().check_action(action, parameters)

    def _why_not(self, key: str) -> Problem | None:
        """Why the step key `key` cannot act right now, and what to do; None when it can. Asked
        by the actions themselves and by `refused`, so a key never does nothing in silence."""
        session = self.session
        if session is not None and session.dry_run:
            return Problem(
                f"{key} was not taken: a dry run checks every step by itself and changes nothing.",
                "ctrl+t goes back to the form for a live run.",
                kind="warning",
            )
        if self.busy:
            if session is not None and self.busy in session.states:
                doing = "running the remaining steps: " if self.running_rest else ""
                busy = f"{doing}{self.busy} is still running"
            else:
                busy = f"oncall is still {self.busy} the run"
            return Problem(
                f"{key} was not taken: {busy}.",
                "Press it again once that is done"
                + (" (escape stops the walk after this step)." if self.running_rest else "."),
                kind="warning",
            )
        if session is None:
            if not self.query_one("#form-area").display:
                return Problem(
                    f"{key} was not taken: the run has not started.",
                    "Wait for its steps to show, or read the notice above.",
                    kind="warning",
                )
            return Problem(
                f"{key} works on the steps once the run has started.",
                "ctrl+s starts it.",
                kind="warning",
            )
        if self.report is not None or self._current() is None:
            return Problem(
                f"{key} was not taken: {session.run_id or 'the run'} is over, no step is left.",
                "Escape returns to the incident.",
                kind="warning",
            )
        return None

    def why_not(self, key: str) -> Problem | None:
        """Why ctrl+s did nothing; a step key's reason is `_why_not`."""
        if key != "ctrl+s":
            return self._why_not(key)
        if self.session is not None or self.resume_id is not None:
            return Problem(
                "ctrl+s does nothing now: the run has started.",
                "x runs the current step, a the rest.",
                kind="warning",
            )
        what = "the runbook is still loading" if self.runbook is None else "it is starting"
        return Problem(
            f"ctrl+s was not taken: {what}.", "Press it again in a moment.", kind="warning"
        )

    def action_refused(self, key: str) -> None:
        """A key pressed when it cannot act: say why (see `_why_not`)."""
        if key == "ctrl+s":
            if (problem := self.why_not(key)) is not None:
                self._refuse(problem)
            return
        why = self._why_not(key)
        if why is None:  # it can act after all: do what the key says
            if key == "x":
                self.action_run_step()
            elif key == "a":
                self.action_run_rest()
            else:
                self._ask_reason("skip" if key == "s" else "done")
            return
        self._refuse(why)

    def _refuse(self, why: Problem) -> None:
        self.query_one(Notice).show_problem(why)

    def action_scroll_detail(self, lines: int) -> None:
        """Scroll a long action (SQL) while the step list keeps the focus."""
        self.query_one(StepDetail).scroll_body(lines)

    def action_run_step(self) -> None:
        """Run the current step. Pressing x confirms an ordinary step; a destructive one is put
        to the engine unconfirmed, so its check runs first and the typed confirmation (with the
        preview) is asked only when it must really act. An interrupted step is settled first."""
        if (why := self._why_not("x")) is not None:
            self._refuse(why)
            return
        current = self._current()
        assert current is not None
        self._begin(current.id)
        self.run_step(current.id, confirmed=not current.destructive)

    def action_run_rest(self) -> None:
        """Run the current step and those after it, each exactly as x would (lease, ledger,
        timeline, check first, preview), until one needs the operator: a destructive step's
        typed confirmation is asked as x asks it, and a failure, a refusal, a step not run or
        a stop (escape) ends the walk there."""
        if (why := self._why_not("a")) is not None:
            self._refuse(why)
            return
        current = self._current()
        assert current is not None
        self.running_rest = True
        self.stop_rest = False
        self._begin(current.id)
        self.run_rest()

    def _begin(self, what: str) -> None:
        """(UI thread.) Mark the screen busy before a worker is started, so a key pressed in
        between is refused rather than starting a second worker on the same session."""
        self._apply_busy(what)

    def _set_busy(self, what: str | None) -> None:
        """From a worker thread: say what the screen is busy with (None: it is not)."""
        self.app.call_from_thread(self._apply_busy, what)

    def _apply_busy(self, what: str | None) -> None:
        if what != self.busy:
            self.busy_since = time.monotonic()
        self.busy = what
        if what is None:
            self.running_rest = False
        self._tick()
        self.refresh_bindings()
        if self.session is not None:
            self._show_steps()

    @work(thread=True, group="run")
    @_holds_store
    def run_step(self, step_id: str, confirmed: bool = True) -> None:
        """`confirmed`: pressing x confirmed it; otherwise the engine asks through the prompter
        if it comes to running it (after its check). The screen stays busy until the steps
        after it with nothing to do are settled too."""
        session = self.session
        assert session is not None
        try:
            if self._one_step(session, step_id, confirmed):
                self._skip_settled(session)
            self._after_step()
        finally:
            self._set_busy(None)

    @work(thread=True, group="run")
    @_holds_store
    def run_rest(self) -> None:
        """(`a`) Each remaining step in turn, as x runs it, until one does not end done or
        skipped, or the operator asked to stop (escape)."""
        session = self.session
        assert session is not None
        try:
            while (state := current_step(session.plan())) is not None and not self.stop_rest:
                if not self._one_step(session, state.id, not state.destructive):
                    break
                self.post_message(self.StepsChanged())
            if self.stop_rest and current_step(session.plan()) is not None:
                self.app.call_from_thread(
                    self.query_one(Notice).show_info,
                    "Stopped as asked: x runs the next step, a the rest.",
                )
            self._after_step()
        finally:
            self._set_busy(None)

    def _one_step(self, session: RunSession, step_id: str, confirmed: bool) -> bool:
        """(In a worker.) Run one step through the engine and say how it went; whether the run
        can go on by itself (the step ended done or skipped, nothing stopped it)."""
        self._set_busy(step_id)
        try:
            outcome = session.run_step(step_id, confirmed=confirmed)
        except Exception as exc:
            self.post_message(self.Failed(explain(exc)))
            return False
        self._report_outcome(outcome.state)
        return not outcome.stop and outcome.state.status in ("done", "skipped")

    @work(thread=True, group="run")
    @_holds_store
    def advance(self) -> None:
        """As a live run starts: settle the steps with nothing to do, then wait for x."""
        session = self.session
        assert session is not None
        try:
            self._skip_settled(session)
            self._after_step()
        finally:
            self._set_busy(None)

    def _skip_settled(self, session: RunSession) -> None:
        """(In a worker.) Settle each step that comes up with nothing to do — done already, or
        its check holds — without asking (`RunSession.skip_if_done`), up to the first that must
        act: only that one is put to the operator."""
        while (state := current_step(session.plan())) is not None and state.status == "pending":
            self._set_busy(state.id)
            try:
                outcome = session.skip_if_done(state.id)
            except Exception as exc:
                self.post_message(self.Failed(explain(exc)))
                return
            if outcome is None:
                return
            self.post_message(self.StepsChanged())
            if outcome.state.status == "failed":  # its check could not run: say so, stop here
                self._report_outcome(outcome.state)
                return

    def _report_outcome(self, state: StepState) -> None:
        """A step that failed or did not run says so above the steps, with what to do next;
        one that changed something says what it changed."""
        if state.status == "failed":
            problem = Problem(
                f"{state.id} failed: {state.message}",
                "Read the output below and fix the cause; then press x to run it again, "
                "d if you did it by hand, s to skip it.",
            )
        elif state.status in ("pending", "in_doubt") and state.message:
            problem = Problem(
                f"{state.id} did not run: {state.message}",
                "Press x to try again when ready, or s to skip it with a reason.",
                kind="warning",
            )
        elif state.status == "done" and state.changed:
            self.app.call_from_thread(
                self.query_one(Notice).show_info, f"✔ {state.id} done: {state.changed}."
            )
            return
        else:
            self.app.call_from_thread(self.query_one(Notice).clear)
            return
        self.post_message(self.Failed(problem))

    @work(thread=True, group="run")
    @_holds_store
    def dry_run_all(self) -> None:
        session = self.session
        assert session is not None
        try:
            for state in session.plan():
                self._set_busy(state.id)
                try:
                    session.run_step(state.id)
                except Exception as exc:
                    self.post_message(self.Failed(explain(exc)))
                    break
                self.post_message(self.StepsChanged())
            self.post_message(self.Finished(session.finish()))
        finally:
            self._set_busy(None)

    def _after_step(self) -> None:
        """From the worker: refresh, and close the run once no step is left to work on."""
        session = self.session
        assert session is not None
        self.post_message(self.StepsChanged())
        if current_step(session.plan()) is None:
            try:
                report = session.finish()
            except Exception as exc:
                self.post_message(self.Failed(explain(exc)))
                return
            self.post_message(self.Finished(report))

    def action_skip_step(self) -> None:
        self._ask_reason("skip")

    def action_mark_done(self) -> None:
        self._ask_reason("done")

    def _ask_reason(self, what: str) -> None:
        key = "s" if what == "skip" else "d"
        if (why := self._why_not(key)) is not None:
            self._refuse(why)
            return
        current = self._current()
        assert current is not None
        title = f"Skip {current.id}?" if what == "skip" else f"Mark {current.id} done by hand?"
        explanation = (
            "Nothing is run and nothing is recorded as done; the reason goes on the timeline."
            if what == "skip"
            else "Say what you did instead; it is recorded as done with no effect by oncall."
        )

        def answered(reason: str | None) -> None:
            if not reason:
                return
            if (why := self._why_not(key)) is not None:
                self._refuse(why)
                return
            self._begin(current.id)
            self.settle_step(current.id, what, reason)

        self.app.push_screen(
            TextPromptScreen(title, explanation, placeholder="why", submit="Record"),
            callback=answered,
        )

    @work(thread=True, group="run")
    @_holds_store
    def settle_step(self, step_id: str, what: str, reason: str) -> None:
        session = self.session
        assert session is not None
        try:
            self._set_busy(step_id)
            try:
                if what == "skip":
                    session.skip_step(step_id, reason)
                else:
                    session.mark_done(step_id, reason)
            except Exception as exc:
                self.post_message(self.Failed(explain(exc)))
            self._after_step()
        finally:
            self._set_busy(None)

    @on(StepsChanged)
    def _steps_changed(self) -> None:
        self._show_steps()
        self.refresh_bindings()

    @on(Reported)
    def _reported(self, message: Reported) -> None:
        log = self.query_one("#run-log", RichLog)
        log.write(message.line, scroll_end=False)
        log.scroll_end(animate=False, immediate=True, x_axis=False)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self.report = message.report
        self._show_steps()
        self.refresh_bindings()
        notice = self.query_one(Notice)
        if message.report.status == "done" and self.dismiss_when_done:
            self.dismiss()
            return
        if message.report.status == "done":
            notice.show_info(f"✔ {message.report.run_id} done: every step is done or skipped.")
        elif message.report.status == "dry_run":
            notice.show_info(
                "◇ Dry run finished: nothing was changed. Press ctrl+t for a live run."
            )
        else:
            notice.show_problem(
                Problem(
                    f"{message.report.run_id or 'The run'} ended {message.report.status}.",
                    "Open it again from the incident (3 Runbooks) to resume where it stopped.",
                    kind="warning",
                )
            )

    # --- leases -------------------------------------------------------------------------------

    def action_force_lease(self) -> None:
        if self.lease_refused is None:
            return
        refusal = self.lease_refused

        def forced(reason: str | None) -> None:
            if not reason:
                return
            self.query_one(Notice).clear()
            if self.resume_id is not None:
                self._begin("resuming")
                self.resume(self.resume_id, reason)
            else:
                self._begin("starting")
                self.start(self.raw_params, reason)

        from runbooks.leasing import RunStillActive

        if isinstance(refusal, RunStillActive):  # a resume refused: the run may be alive elsewhere
            title = f"Take over {self.resume_id}?"
            why = (
                f"{refusal.run_id} may still be running on {refusal.host}. Taking it over while "
                "it still runs would interleave two runs"
            )
        else:
            title = f"Take over the lease on {short_ref(refusal.asset)}?"
            why = (
                f"{short_ref(refusal.holder)} holds it for {refusal.run_id}. Taking it over lets "
                "this run change the asset while that run may still be working"
            )
        self.app.push_screen(
            TextPromptScreen(
                title,
                f"{why}: say why it is safe (it goes on the timeline).",
                placeholder="e.g. RUN-1's laptop died; confirmed with its holder",
                submit="Force",
            ),
            callback=forced,
        )

    # --- leaving ------------------------------------------------------------------------------

    def action_back(self) -> None:
        session = self.session
        if session is not None and not session.dry_run and self.report is None and not self.busy:
            changed = [s for s in self._states() if s.status == "done" and s.effect_count]
            if changed:
                self._ask_before_leaving(changed)
                return
            self.close_and_leave()
            return
        if self.busy and self.session is not None and self.running_rest:
            self.stop_rest = True
            self.query_one(Notice).show_problem(
                Problem(
                    f"Stopping after {self.busy}: the steps after it are left as they are.",
                    "Escape again once it has stopped to leave.",
                    kind="warning",
                )
            )
            return
        if self.busy and self.session is not None:
            self.query_one(Notice).show_problem(
                Problem("A step is running.", "Wait for it to finish, then leave.", kind="warning")
            )
            return
        self.dismiss()

    def _ask_before_leaving(self, changed: list[StepState]) -> None:
        """A run that changed things and stops half-way leaves the world half-changed (the ETL
        paused, say): leaving says what was done, what is not, and how to come back."""
        assert self.session is not None
        run_id = self.session.run_id
        left = [s.id for s in self._states() if s.status not in ("done", "skipped")]
        text = (
            f"Changed so far: {', '.join(f'{s.id} ({s.title})' for s in changed)}.\n"
            f"Not done yet: {', '.join(left) or 'nothing'}.\n\n"
            f"Leaving interrupts {run_id}; its leases are released. Resume it from the incident "
            f"(3 Runbooks, ↻ resume {run_id}, then r), or abandon it there with A."
        )

        def answered(choice: str | None) -> None:
            if choice == "leave":
                self.close_and_leave()

        self.app.push_screen(
            ChoiceScreen(
                f"Leave {run_id} half-done?",
                text,
                # "Stay" first: it has the focus, so a reflex Enter keeps the run going.
                [("stay", "Stay", "s"), ("leave", "Leave, resume later", "l")],
            ),
            callback=answered,
        )

    @work(thread=True, group="run")
    @_holds_store
    def close_and_leave(self) -> None:
        """Close the run as interrupted (leases released); it can be resumed later."""
        assert self.session is not None
        self._set_busy("closing")
        try:
            self.session.finish()
        except Exception as exc:
            self._set_busy(None)
            self.post_message(self.Failed(explain(exc)))
            return
        self.app.call_from_thread(self.dismiss)


def _takeover(exc: BaseException) -> Lease | RunStillActive | None:
    """What a refusal lets the operator take over with ctrl+f: the held lease, or a resume of a
    run that may still be alive on another machine; None when forcing cannot help (nothing is
    held, or the run's process is alive on this machine)."""
    from runbooks.leasing import LeaseRefused, RunStillActive

    if isinstance(exc, LeaseRefused):
        return exc.lease
    if isinstance(exc, RunStillActive) and exc.alive is not True:
        return exc
    return None


def refusal_problem(
    problem: Problem, refusal: Lease | RunStillActive | None, resume_id: str | None
) -> Problem:
    """A refusal in the app's words (keys, not CLI flags), saying whether the holder's process
    is gone: then the holder's run is the one to resume."""
    from runbooks.leasing import RunStillActive, process_alive

    if isinstance(refusal, RunStillActive):
        return Problem(
            f"{refusal.run_id} may still be running on {refusal.host}.",
            "Resume it once that process has stopped, or press ctrl+f to take it over with a "
            "written reason (it goes on the timeline).",
        )
    if refusal is None:
        return problem
    lease = refusal
    held = (
        f"{short_ref(lease.asset)} is leased by {short_ref(lease.holder)} (run "
        f"{lease.run_id}{', ' + lease.incident_id if lease.incident_id else ''}) from "
        f"{lease.host} since {lease.acquired_at:%H:%M:%S} UTC."
    )
    if process_alive(lease.host) is False and lease.run_id != resume_id:
        return Problem(
            f"{held} Its process is gone: {lease.run_id} stopped without finishing.",
            f"Resume {lease.run_id} from the incident (its ↻ resume row, then r) to finish it, "
            "or press ctrl+f to take the lease over for this run with a written reason.",
            kind="warning",
        )
    return Problem(
        held,
        "Another run is changing it. Wait for it, talk to its holder, or press ctrl+f to "
        "take the lease over with a written reason (it goes on the timeline).",
    )


def _prefill(spec: RunbookSpec, alert: dict[str, str], asset: str | None) -> dict[str, str]:
    """The form's first values: the alert's values for parameters of the same name (the
    operator can edit them), and the incident's asset for the runbook's asset parameter."""
    prefill = {name: alert[name] for name in spec.params if name in alert}
    asset_param = spec.asset_param()
    if asset_param and asset:
        prefill[asset_param] = short_ref(asset)
    return prefill


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def format_duration_seconds(seconds: float) -> str:
    from datetime import timedelta

    return format_duration(timedelta(seconds=seconds))
