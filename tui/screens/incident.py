"""One incident: status and timers, blast radius, who to call, runbooks, the live timeline.

On a wide terminal the four panels share the screen; at 80x24 one panel shows at a time and
the keys 1 to 4 (or the tabs) switch between them. The timeline is followed live: on PostgreSQL
the store pushes each append (LISTEN/NOTIFY), on SQLite the chain head is checked twice a second,
so a note written by a colleague on another machine appears without anyone pressing anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.widgets import Footer, Static, Tab, Tabs
from textual.worker import get_current_worker

from tui.live import Following
from tui.problems import Problem, explain
from tui.screens.base import OncallScreen, refusals
from tui.screens.choice import ChoiceScreen
from tui.screens.prompt import TextPromptScreen
from tui.widgets.contamination import ContaminationView
from tui.widgets.dependency_tree import DependencyTree, ReachIndex, format_path
from tui.widgets.incident_header import IncidentHeader
from tui.widgets.notice import Notice
from tui.widgets.people import PeoplePanel
from tui.widgets.runbook_list import RunbookList
from tui.widgets.timeline import Timeline
from tui.widgets.title_bar import TitleBar
from tui.widgets.vocabulary import hops_text, short_ref

if TYPE_CHECKING:
    from graph.impact import Impact

PANELS: tuple[tuple[str, str], ...] = (
    ("impact", "1 Impact"),
    ("people", "2 People"),
    ("runbooks", "3 Runbooks"),
    ("timeline", "4 Timeline"),
)

# Next status for each key, and the statuses from which it makes sense.
STATUS_ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "acknowledge": ("acknowledged", ("open",)),
    "mitigated": ("mitigated", ("open", "acknowledged")),
    "resolved": ("resolved", ("open", "acknowledged", "mitigated")),
}

WIDE_COLUMNS = 120

# Waking more people than this at 3 AM deserves a second look first.
PAGE_WITHOUT_ASKING = 5
#: The page's outcome stays this long above the panels (it is on the timeline for good).
PAGE_NOTICE_SECONDS = 20.0
WIDE_ROWS = 36


class IncidentScreen(OncallScreen[None]):
    """Everything about one incident, and the keys to act on it."""

    POLL_SECONDS = 1.0

    BINDINGS = [
        Binding("a", "acknowledge", "Ack", tooltip="Acknowledge: you are on it (and take command)"),
        Binding(
            "C",
            "take_command",
            "Command",
            key_display="C",
            tooltip="Take command of it",
            show=False,
        ),
        Binding(
            "A",
            "abandon_run",
            "Abandon run",
            key_display="A",
            tooltip="Abandon the highlighted unfinished run (asks why)",
            show=False,
        ),
        Binding("n", "note", "Note", tooltip="Add a note to the timeline"),
        Binding("p", "page", "Page", tooltip="Page the people to call (notify action)"),
        Binding("r", "run_runbook", "Run", tooltip="Run the highlighted runbook, or resume a run"),
        Binding("m", "mitigated", "Mitigated", tooltip="Mark mitigated: the harm has stopped"),
        Binding("c", "plan", "Plan", tooltip="The recovery plan from the run history: r runs it"),
        # Not in the footer, which must fit 80 columns with ? and g (help lists them first, and
        # the screens that lead to them say them: a finished run or plan names P).
        Binding("R", "resolved", "Resolved", key_display="R", tooltip="Mark resolved", show=False),
        Binding(
            "P",
            "postmortem",
            "Postmortem",
            key_display="P",
            tooltip="Draft the postmortem",
            show=False,
        ),
        Binding("1", "panel('impact')", "Impact", show=False),
        Binding("2", "panel('people')", "People", show=False),
        Binding("3", "panel('runbooks')", "Runbooks", show=False),
        Binding("4", "panel('timeline')", "Timeline", show=False),
        *refusals("r", "c", "p", "a", "m", "R"),
    ]

    class Refreshed(Message):
        def __init__(self, incident: Any, events: list[Any]) -> None:
            super().__init__()
            self.incident = incident
            self.events = events

    class ImpactLoaded(Message):
        def __init__(
            self,
            impact: Impact | None,
            index: ReachIndex | None,
            runbooks: list[Any],
            problem: Problem | None,
            runbooks_problem: Problem | None,
            runs: list[Any] | None = None,
        ) -> None:
            super().__init__()
            self.impact = impact
            self.index = index
            self.runbooks = runbooks
            self.runs = runs or []
            self.problem = problem
            self.runbooks_problem = runbooks_problem

    class RecoveryLoaded(Message):
        def __init__(self, recovery: tuple[Any, Any] | None) -> None:
            self.recovery = recovery
            super().__init__()

    class RunsLoaded(Message):
        def __init__(self, runs: list[Any]) -> None:
            super().__init__()
            self.runs = runs

    class Failed(Message):
        def __init__(self, problem: Problem) -> None:
            super().__init__()
            self.problem = problem

    class StatusAsked(Message):
        """What is still open, loaded: ask before moving the incident to `status`."""

        def __init__(self, status: str, still_open: list[str]) -> None:
            super().__init__()
            self.status = status
            self.still_open = still_open

    class ChainBroken(Message):
        """The timeline's hash chain does not verify: said until the screen closes."""

        def __init__(self, problem: Problem) -> None:
            super().__init__()
            self.problem = problem

    def __init__(self, incident_id: str) -> None:
        super().__init__()
        self.incident_id = incident_id
        self._chain_problem: Problem | None = None
        self.incident: Any | None = None
        self.impact: Impact | None = None
        self.runbook_ids: list[str] = []
        self.runbooks: list[Any] = []
        self.runbooks_problem: Problem | None = None
        self.active_panel = "impact"
        self._poll_failed = False
        self.last_seq = 0
        self.plan: Any | None = None
        self.impact_read = False  # the blast radius, people and runbooks were read (or failed)
        self.recovery_read = False  # the run history was read for a recovery plan (or failed)

    def compose(self) -> ComposeResult:
        yield TitleBar(f"Incident {self.incident_id}")
        yield IncidentHeader(self.oncall.clock, id="incident-header")
        yield Notice(id="notice")
        yield Tabs(*(Tab(label, id=f"tab-{key}") for key, label in PANELS), id="panel-tabs")
        with Grid(id="panels"):
            with Vertical(id="impact-panel", classes="panel -active") as impact:
                impact.border_title = "Blast radius"
                yield DependencyTree("Loading the blast radius…", id="blast-tree")
                yield Static("", id="blast-path", classes="path-line")
                yield ContaminationView("", id="contamination")
            with VerticalScroll(id="people-panel", classes="panel") as people:
                people.border_title = "Who to call"
                yield PeoplePanel("Loading owners and rotations…", id="people")
            with Vertical(id="runbooks-panel", classes="panel") as runbooks:
                runbooks.border_title = "Suggested runbooks"
                yield RunbookList(id="runbooks")
            with Vertical(id="timeline-panel", classes="panel") as timeline:
                timeline.border_title = "Timeline"
                yield Timeline(id="timeline")
        yield Footer(compact=True, show_command_palette=False)

    class TimelineMoved(Message):
        """The follower thread saw the timeline grow (or could not tell): read what is new."""

    def on_mount(self) -> None:
        self.query_one(ContaminationView).display = False
        self.poll()
        self._following = Following(
            lambda: self.backend.follow(self.incident_id),
            self.post_message,
            self.TimelineMoved,
            name=f"follow-{self.incident_id}",
            retry_seconds=self.POLL_SECONDS,
        )
        self._following.start()
        self._layout_for(self.app.size.width, self.app.size.height)

    def on_unmount(self) -> None:
        self._following.stop()

    @on(TimelineMoved)
    def _timeline_moved(self) -> None:
        self.poll()

    def on_resize(self, event: Resize) -> None:
        self._layout_for(event.size.width, event.size.height)

    def _layout_for(self, width: int, height: int) -> None:
        wide = width >= WIDE_COLUMNS and height >= WIDE_ROWS
        self.set_class(wide, "-wide")
        self.set_class(not wide, "-narrow")

    # --- loading ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="incident-poll")
    def poll(self) -> None:
        worker = get_current_worker()
        first = self.last_seq == 0
        try:
            incident = self.backend.get_incident(self.incident_id)
            events = self.backend.events(self.incident_id, after_seq=self.last_seq)
            chain = self.backend.verify(self.incident_id) if first else None
        except Exception as exc:
            if not worker.is_cancelled:
                self.post_message(self.Failed(explain(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(self.Refreshed(incident, events))
            if chain is not None and not chain.ok:
                at = f" at event #{chain.first_bad}" if chain.first_bad is not None else ""
                self.post_message(
                    self.ChainBroken(
                        Problem(
                            f"This timeline does NOT verify{at}: {chain.reason}",
                            "It may not be what was recorded: run `oncall incident verify` and "
                            "find out who changed the database.",
                        )
                    )
                )

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        first = self.incident is None
        self.incident = message.incident
        notice = self.query_one(Notice)
        if self._poll_failed and notice.is_showing:
            notice.clear()  # the store answers again: the problem shown is over
            if self._chain_problem is not None:  # a broken chain is never cleared
                notice.show_problem(self._chain_problem)
        self._poll_failed = False
        self.query_one(IncidentHeader).show(message.incident)
        timeline = self.query_one(Timeline)
        timeline.add_events(message.events)
        self.last_seq = timeline.last_seq
        self.refresh_bindings()
        if first:
            self.load_impact(message.incident.asset)

    @on(ChainBroken)
    def _chain_broken(self, message: ChainBroken) -> None:
        self._chain_problem = message.problem
        self.query_one(Notice).show_problem(message.problem)

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self._poll_failed = True
        self.query_one(Notice).show_problem(message.problem)

    @work(thread=True, exclusive=True, group="incident-impact")
    def load_impact(self, asset_ref: str) -> None:
        try:
            impact = self.backend.impact(asset_ref)
            index = ReachIndex.build(impact.asset.ref, impact.affected)
        except Exception as exc:
            self.post_message(self.ImpactLoaded(None, None, [], explain(exc), None))
            return
        runbooks: list[Any] = []
        runs: list[Any] = []
        runbooks_problem = None
        try:
            runbooks = self.backend.runbooks_for(impact.asset.ref, impact.affected)
            runs = self.backend.run_records(self.incident_id)
        except Exception as exc:
            runbooks_problem = explain(exc)
        self.post_message(self.ImpactLoaded(impact, index, runbooks, None, runbooks_problem, runs))

    @on(ImpactLoaded)
    def _impact_loaded(self, message: ImpactLoaded) -> None:
        self.impact_read = True
        self.refresh_bindings()
        tree = self.query_one("#blast-tree", DependencyTree)
        if message.problem is not None or message.impact is None or message.index is None:
            assert message.problem is not None
            self.recovery_read = True  # no radius, no plan to read
            tree.show_message("Blast radius unavailable.")
            self.query_one(PeoplePanel).update("Owners unavailable.")
            self.query_one(Notice).show_problem(message.problem)
            return
        self.impact = message.impact
        name = short_ref(message.impact.asset.ref)
        tree.show_index(message.index, f"{name} feeds")
        if self.active_panel == "impact" and (
            self.focused is None or isinstance(self.focused, Tabs)
        ):
            tree.focus()  # the arrows move through the radius at once
        self.query_one("#impact-panel").border_title = f"Blast radius ({len(message.index)})"
        self.query_one("#blast-path", Static).update(
            "↑↓ to see the path to a node · e expands every level"
            if len(message.index)
            else "Feeds nothing."
        )
        impact = message.impact
        self.query_one(PeoplePanel).show(impact.teams, impact.page, impact.unpaged)
        self.runbooks = message.runbooks
        self.runbooks_problem = message.runbooks_problem
        self._show_runbooks(message.runs)
        self.load_recovery()

    @work(thread=True, exclusive=True, group="incident-recovery")
    def load_recovery(self) -> None:
        """What the run history says read the bad data; without it the tree stays."""
        try:
            recovery = self.backend.recovery(self.incident_id)
        except Exception:  # the structural blast radius is still right; nothing to add
            recovery = None
        self.post_message(self.RecoveryLoaded(recovery))

    @on(RecoveryLoaded)
    def _recovery_loaded(self, message: RecoveryLoaded) -> None:
        self.recovery_read = True
        if message.recovery is None:
            return
        analysis, self.plan = message.recovery
        self.query_one("#blast-tree").display = False
        self.query_one("#blast-path").display = False
        view = self.query_one(ContaminationView)
        view.show(analysis)
        view.display = True
        self.query_one("#impact-panel").border_title = (
            f"Contaminated ({len(analysis.contaminated)}) · "
            f"Downstream, clean ({len(analysis.clean)}) · c: plan"
        )
        self.refresh_bindings()

    def action_plan(self) -> None:
        if self.plan is not None:
            from tui.screens.plan import PlanScreen

            self.app.push_screen(PlanScreen(self.plan))

    def _show_runbooks(self, runs: list[Any]) -> None:
        """Unfinished runs of this incident first (to resume), then the suggested runbooks."""
        self.query_one(RunbookList).show(self.runbooks, self.runbooks_problem, runs)
        resumable = [f"run:{r.run.id}" for r in runs if r.resumable]
        self.runbook_ids = resumable + [r.key for r in self.runbooks]
        self.refresh_bindings()

    def on_screen_resume(self) -> None:
        """Back from a run: its status (done, interrupted) changes what the list offers."""
        if self.impact is not None:
            self.load_runs()

    @work(thread=True, exclusive=True, group="incident-runs")
    def load_runs(self) -> None:
        try:
            runs = self.backend.run_records(self.incident_id)
        except Exception as exc:
            self.post_message(self.Failed(explain(exc)))
            return
        self.post_message(self.RunsLoaded(runs))

    @on(RunsLoaded)
    def _runs_loaded(self, message: RunsLoaded) -> None:
        self._show_runbooks(message.runs)

    @on(DependencyTree.PathShown)
    def _path(self, message: DependencyTree.PathShown) -> None:
        reached = message.reached
        self.query_one("#blast-path", Static).update(
            Content(f"{format_path(reached.path)}  ({hops_text(reached.hops)})")
        )

    # --- panels -------------------------------------------------------------------------------

    def action_panel(self, key: str) -> None:
        self.query_one(Tabs).active = f"tab-{key}"

    @on(Tabs.TabActivated, "#panel-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        key = (event.tab.id or "tab-impact").removeprefix("tab-")
        self.active_panel = key
        for panel_key, _ in PANELS:
            self.query_one(f"#{panel_key}-panel").set_class(panel_key == key, "-active")
        if self.has_class("-narrow"):
            focus_target = {
                "impact": "#blast-tree",
                "people": "#people-panel",
                "runbooks": "#runbooks",
                "timeline": "#timeline",
            }[key]
            self.query_one(focus_target).focus()

    # --- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run_runbook":
            return True if self.runbook_ids else None
        if action == "plan":
            return True if self.plan is not None else None
        if action == "page":
            return True if self.impact is not None and self.impact.page else None
        if action in STATUS_ACTIONS:
            if self.incident is None:
                return None
            _, allowed_from = STATUS_ACTIONS[action]
            return True if self.incident.status in allowed_from else None
        return super().check_action(action, parameters)

    def why_not(self, key: str) -> Problem | None:
        """Why a key of this screen did nothing just now (its action could not act)."""
        loading = not self.impact_read or (key == "c" and not self.recovery_read)
        if key in ("a", "m", "R"):
            if self.incident is None:
                return Problem(
                    f"{key} was not taken: {self.incident_id} is still loading.",
                    "Press it again in a moment.",
                    kind="warning",
                )
            return Problem(
                f"{key} does nothing now: {self.incident_id} is {self.incident.status}.",
                "A status only moves forward: open, acknowledged, mitigated, resolved.",
                kind="warning",
            )
        if loading:
            what = {
                "r": "the runbooks are",
                "c": "the recovery plan is",
                "p": "the people to page are",
            }[key]
            return Problem(
                f"{key} was not taken: {what} still being read.",
                "Press it again once they are shown.",
                kind="warning",
            )
        if key == "r":
            return Problem(
                "r does nothing here: no runbook applies to this incident's asset.",
                "See 3 Runbooks for why; `oncall runbook list` lists them all.",
                kind="warning",
            )
        if key == "c":
            return Problem(
                "c does nothing here: no recovery plan, the run history shows no bad data "
                "read downstream.",
                "1 Impact shows the blast radius; 3 Runbooks lists what applies.",
                kind="warning",
            )
        return Problem(
            "p does nothing here: nobody is listed to page for this asset.",
            "2 People shows its owners; g looks up any asset's owner.",
            kind="warning",
        )

    def _change_status(self, action: str) -> None:
        status, _ = STATUS_ACTIONS[action]
        if action == "acknowledge":  # "I am on it" changes nothing for anyone else: no question
            self.write_status(status)
            return
        self.ask_status(status)

    @work(thread=True, exclusive=True, group="incident-ask")
    def ask_status(self, status: str) -> None:
        """Mitigated and resolved are asked first, naming the incident and what is still open:
        one key next to `r` must not close a SEV1 with a recovery half done."""
        try:
            work = self.backend.open_work(self.incident_id, self.plan)
        except Exception as exc:
            self.post_message(self.Failed(explain(exc)))
            return
        self.post_message(self.StatusAsked(status, work.lines()))

    @on(StatusAsked)
    def _status_asked(self, message: StatusAsked) -> None:
        incident = self.incident
        if incident is None:
            return
        verb = {"mitigated": "Mark mitigated", "resolved": "Resolve"}[message.status]
        still_open = (
            "Still open:\n" + "\n".join(f"  • {line}" for line in message.still_open)
            if message.still_open
            else "Nothing is still open: no run unfinished, no lease held"
            + (", every contaminated asset recovered." if self.plan is not None else ".")
        )
        meaning = {
            "mitigated": "The harm has stopped; the incident stays open until resolved.",
            "resolved": "The incident is over: its clocks stop and it leaves the open list.",
        }[message.status]

        def answered(choice: str | None) -> None:
            if choice == "yes":
                self.write_status(message.status)

        self.app.push_screen(
            ChoiceScreen(
                f"{verb} {incident.id}?",
                f"{incident.severity} · {incident.title}\n{meaning}\n\n{still_open}",
                # "Not now" first: it has the focus, so a reflex Enter changes nothing.
                [("no", "Not now", "n"), ("yes", f"{verb} {incident.id}", "y")],
            ),
            callback=answered,
        )

    def action_acknowledge(self) -> None:
        self._change_status("acknowledge")

    def action_mitigated(self) -> None:
        self._change_status("mitigated")

    def action_resolved(self) -> None:
        self._change_status("resolved")

    @work(thread=True, group="incident-write")
    def write_status(self, status: str) -> None:
        try:
            self.backend.set_status(self.incident_id, status)
        except Exception as exc:
            self.post_message(self.Failed(explain(exc)))
            return
        self.poll()

    def action_abandon_run(self) -> None:
        choice = self.query_one(RunbookList).highlighted_runbook
        if choice is None or not choice.startswith("run:"):
            self.query_one(Notice).show_problem(
                Problem(
                    "No unfinished run is highlighted.",
                    "In 3 Runbooks, move to a ↻ resume row, then press A.",
                    kind="warning",
                )
            )
            return
        run_id = choice.removeprefix("run:")

        def answered(reason: str | None) -> None:
            if reason:
                self.write_abandon(run_id, reason)

        self.app.push_screen(
            TextPromptScreen(
                f"Abandon {run_id}?",
                "It will not be resumed: it leaves this list, its leases are released, and the "
                "timeline records who gave up on it, why, and what it had done. Say why.",
                placeholder="e.g. started on the wrong day; RUN-7 redoes it",
                submit="Abandon",
            ),
            callback=answered,
        )

    @work(thread=True, group="incident-write")
    def write_abandon(self, run_id: str, reason: str) -> None:
        try:
            self.backend.abandon_run(run_id, reason)
        except Exception as exc:
            self.post_message(self.Failed(explain(exc)))
            return
        self.load_runs()
        self.poll()

    def action_take_command(self) -> None:
        self.write_command()

    @work(thread=True, group="incident-write")
    def write_command(self) -> None:
        try:
            incident = self.backend.take_command(self.incident_id)
        except Exception as exc:
            self.post_message(self.Failed(explain(exc)))
            return
        self.app.call_from_thread(
            self.query_one(Notice).show_info,
            f"You command {incident.id} now (on the timeline).",
            seconds=PAGE_NOTICE_SECONDS,
        )
        self.poll()

    def action_note(self) -> None:
        def save(text: str | None) -> None:
            if text:
                self.write_note(text)

        self.app.push_screen(
            TextPromptScreen(
                "Add a note to the timeline",
                "Notes are permanent: the timeline is append-only and signed by a hash chain.",
                placeholder="What you saw, decided or tried",
                submit="Add note",
            ),
            callback=save,
        )

    @work(thread=True, group="incident-write")
    def write_note(self, text: str) -> None:
        try:
            self.backend.add_note(self.incident_id, text)
        except Exception as exc:
            self.post_message(self.Failed(explain(exc)))
            return
        self.poll()

    def action_page(self) -> None:
        if self.impact is None or not self.impact.page:
            return
        targets = list(self.impact.page)
        if len(targets) <= PAGE_WITHOUT_ASKING:
            self.send_page(targets)
            return

        def answered(choice: str | None) -> None:
            if choice == "page":
                self.send_page(targets)

        names = ", ".join(t.name for t in targets[:8])
        more = f" and {len(targets) - 8} more" if len(targets) > 8 else ""
        self.app.push_screen(
            ChoiceScreen(
                f"Page {len(targets)} people?",
                f"The blast radius reaches {len(targets)} people on call or owning: {names}{more}.",
                [("page", "Page them all", "y"), ("no", "Not now", "n")],
            ),
            callback=answered,
        )

    @work(thread=True, group="incident-write")
    def send_page(self, targets: list[Any]) -> None:
        try:
            summary = self.backend.page(self.incident_id, targets)
        except Exception as exc:
            self.post_message(self.Failed(explain(exc)))
            return
        self.app.call_from_thread(self._paged, summary)
        self.poll()

    def _paged(self, summary: str) -> None:
        self.query_one(Notice).show_info(summary, seconds=PAGE_NOTICE_SECONDS)

    def action_run_runbook(self) -> None:
        choice = self.query_one(RunbookList).highlighted_runbook
        if choice is None or choice not in self.runbook_ids:
            choice = self.runbook_ids[0] if self.runbook_ids else None
        if choice is None:
            return
        if choice.startswith("run:"):
            self.oncall.resume_run(self.incident_id, choice.removeprefix("run:"))
        else:
            runbook_id, _, asset = choice.partition("@")
            self._open_runbook(runbook_id, asset or None)

    @on(RunbookList.Chosen)
    def _runbook_chosen(self, message: RunbookList.Chosen) -> None:
        self._open_runbook(message.runbook_id, message.asset)

    @on(RunbookList.ResumeChosen)
    def _resume_chosen(self, message: RunbookList.ResumeChosen) -> None:
        self.oncall.resume_run(self.incident_id, message.run_id)

    def _open_runbook(self, runbook_id: str, asset: str | None) -> None:
        if asset is None and self.incident is not None:
            asset = self.incident.asset
        self.oncall.open_runbook(self.incident_id, runbook_id, asset)

    def action_postmortem(self) -> None:
        self.oncall.open_postmortem(self.incident_id)
