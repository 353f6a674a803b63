"""The default screen: every open incident, polled from the store, one key to open or start one."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Footer, Static

from tui.live import Following
from tui.messages import IncidentSelected, IncidentsLoaded, ProblemOccurred
from tui.problems import explain
from tui.screens.base import OncallScreen
from tui.widgets.incident_table import IncidentTable
from tui.widgets.notice import Notice
from tui.widgets.title_bar import TitleBar


class IncidentsScreen(OncallScreen[None]):
    """Open incidents with severity, age, status, asset and commander."""

    POLL_SECONDS = 2.0

    BINDINGS = [
        Binding("o", "new_incident", "New incident"),
        Binding("q", "app.quit", "Quit"),
        Binding("c", "toggle_closed", "Show closed"),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.include_closed = False
        self._incidents: list[Any] = []

    def compose(self) -> ComposeResult:
        yield TitleBar("Incidents", id="title-bar")
        yield Notice(id="notice")
        yield Static("Loading incidents…", id="list-heading", classes="section-heading")
        yield IncidentTable(id="incidents")
        yield Static("", id="empty-state")
        yield Footer(compact=True)

    class StoreMoved(Message):
        """An incident was opened or its timeline grew (pushed on PostgreSQL): reload."""

    def on_mount(self) -> None:
        self.call_after_refresh(self.load_incidents)
        self.set_interval(self.POLL_SECONDS, self.load_incidents)  # ages, and SQLite
        self.watch(self.app, "theme", self._theme_changed, init=False)
        self._following = Following(
            self.backend.follow_all, self.post_message, self.StoreMoved, name="follow-incidents"
        )
        self._following.start()

    def on_unmount(self) -> None:
        self._following.stop()

    @on(StoreMoved)
    def _store_moved(self) -> None:
        self.load_incidents()

    def on_screen_resume(self) -> None:
        self.load_incidents()

    def _theme_changed(self) -> None:
        self.query_one(IncidentTable).repaint_badges()

    @work(thread=True, exclusive=True, group="incidents")
    def load_incidents(self) -> None:
        try:
            incidents = self.backend.list_incidents(include_closed=self.include_closed)
        except Exception as exc:
            self.post_message(ProblemOccurred(explain(exc), where="incidents"))
            return
        self.post_message(IncidentsLoaded(incidents))

    @on(IncidentsLoaded)
    def show_incidents(self, message: IncidentsLoaded) -> None:
        self._incidents = message.incidents
        self.query_one(Notice).clear()
        table = self.query_one(IncidentTable)
        table.show(message.incidents, self.oncall.clock())
        which = "All" if self.include_closed else "Open"
        self.query_one("#list-heading", Static).update(
            f"{which} incidents ({len(message.incidents)})"
        )
        empty = self.query_one("#empty-state", Static)
        empty.display = not message.incidents
        if not message.incidents:
            which = "resolved or open" if self.include_closed else "open"
            text = (
                f"No {which} incidents. Press [b]o[/b] to open one on an asset, "
                "[b]g[/b] to look up an owner, [b]?[/b] for help."
            )
            if self.oncall.workspace_name == "demo":
                text += (
                    "\n\nThis is the demo workspace: [b]oncall demo break[/b] (in a shell) "
                    "replays the weekend the nightly ETL left four partial loads."
                )
            empty.update(text)
        else:
            # Focus the list once there is something in it; typing 'o' still works from anywhere.
            if self.focused is None:
                table.focus()

    @on(ProblemOccurred)
    def show_problem(self, message: ProblemOccurred) -> None:
        self.query_one(Notice).show_problem(message.problem)
        self.query_one("#list-heading", Static).update("Incidents (not loaded)")

    @on(IncidentSelected)
    def open_incident(self, message: IncidentSelected) -> None:
        self.oncall.open_incident(message.incident_id)

    def action_new_incident(self) -> None:
        self.oncall.start_new_incident()

    def action_toggle_closed(self) -> None:
        self.include_closed = not self.include_closed
        self.load_incidents()

    def action_refresh(self) -> None:
        self.load_incidents()
