"""The Textual app: screens over the workspace's catalog, incident store and runbooks.

`tui/cli.py` parses the command line and calls `run_app(context)`; the app never reads argv.
Nothing slow happens before the first paint: the workspace is located, the store opened and the
catalog loaded in thread workers, and each screen shows what it has as soon as it has it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from tui.backend import Backend, Clock, utc_now
from tui.screens.incidents import IncidentsScreen

if TYPE_CHECKING:
    from graph.watch import CatalogWatch
    from tui.context import AppContext

CATALOG_POLL_S = 2.0
"""How often the app looks at the catalog files' stamps (a few hundred `stat` calls at 1M)."""


class OncallApp(App[None]):
    """oncall: incidents, blast radius, owners, runbooks and postmortems in one terminal."""

    CSS_PATH = "app.tcss"
    TITLE = "oncall"
    COMMANDS = App.COMMANDS | {lambda: _asset_provider()}

    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("g", "owners", "Owners"),
        Binding("T", "toggle_theme", "Theme", key_display="T", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
    ]

    workspace_name: reactive[str] = reactive("…")
    operator_name: reactive[str] = reactive("…")

    def __init__(
        self,
        context: AppContext,
        *,
        clock: Clock = utc_now,
        backend: Backend | None = None,
    ) -> None:
        super().__init__()
        self.context = context
        self.clock = clock
        self.backend = backend or Backend(context, clock)
        from tui.preferences import load_theme

        chosen = load_theme()
        if chosen and chosen in self.available_themes:
            self.theme = chosen
        self._reloading = threading.Lock()

    def get_default_screen(self) -> Screen[None]:
        return IncidentsScreen()

    def on_mount(self) -> None:
        self.watch(self, "theme", self._remember_theme, init=False)
        # After the first frame: importing SQLAlchemy and the loader in a thread still holds the
        # GIL, and the operator should see the screen before anything slow begins.
        self.call_after_refresh(self.prepare)

    @work(thread=True, group="prepare")
    def prepare(self) -> None:
        """Locate the workspace, then warm the store, the catalog and its search index before
        anyone asks.

        Failures are not reported here: the screen that needs the resource asks again and
        shows the problem in place, next to what could not be shown.
        """
        try:
            workspace = self.backend.workspace()
            self.call_from_thread(setattr, self, "workspace_name", workspace.name)
            # Whose name every action is recorded under: shown before the catalog loads, then
            # in the catalog's canonical form (the same person, however it was typed).
            self.call_from_thread(setattr, self, "operator_name", self.context.operator_as_given)
        except Exception as exc:  # shown by the screens that need the resource
            self.log.warning(f"warm-up failed: {exc!r}")
            return
        try:
            if self.backend.store().read_only:
                self.call_from_thread(self.say_read_only, workspace.name)
        except Exception as exc:  # shown by the screens that need the resource
            self.log.warning(f"warm-up failed: {exc!r}")
        try:
            watch = self.context.catalog_watch()  # before loading: no edit can fall between
            self.backend.catalog()
            self._canonical_operator()
            self.backend.search_index()  # the first search should not wait for the index
        except Exception as exc:  # shown by the screens that need the resource
            self.log.warning(f"warm-up failed: {exc!r}")
            return
        self.call_from_thread(self.set_interval, CATALOG_POLL_S, lambda: self.reload(watch))

    def _canonical_operator(self) -> None:
        self.call_from_thread(setattr, self, "operator_name", self.backend.operator())

    @work(thread=True, group="catalog-reload", exit_on_error=False)
    def reload(self, watch: CatalogWatch) -> None:
        """Load the catalog again when its files changed (issue 16), in a worker: the screens
        keep the old catalog until the new one is ready, and the operator is told. A tick
        while a reload runs does nothing (the next tick sees what changed meanwhile)."""
        if not self._reloading.acquire(blocking=False):
            return
        try:
            files = watch.poll()
            if not files:
                return
            try:
                self.context.reload_catalog()
                self.backend.search_index()
            except Exception as exc:  # a catalog path vanished: say so, keep the old catalog
                self.call_from_thread(
                    self.notify, f"catalog not reloaded: {exc}", severity="warning", timeout=8
                )
                return
        finally:
            self._reloading.release()
        count = f"{len(files)} file{'s' if len(files) != 1 else ''}"
        self.call_from_thread(self.notify, f"catalog reloaded: {count} changed", timeout=5)

    def say_read_only(self, name: str) -> None:
        """The store cannot be written by this user: everything can be looked at, and the
        header and a notification say that nothing can be changed (a write is refused)."""
        self.workspace_name = f"{name} · read-only"
        self.sub_title = "read-only"
        self.notify(
            "This workspace's store cannot be written by you: look at everything; anything "
            "that would change it says 'read-only: nothing was changed'.",
            title="read-only",
            severity="warning",
        )

    # --- navigation used by every screen -----------------------------------------------------

    def open_incident(self, incident_id: str) -> None:
        from tui.screens.incident import IncidentScreen

        self.push_screen(IncidentScreen(incident_id))

    def start_new_incident(self, asset_ref: str | None = None) -> None:
        from tui.screens.new_incident import NewIncidentScreen

        def opened(incident_id: str | None) -> None:
            if incident_id:
                self.open_incident(incident_id)

        self.push_screen(NewIncidentScreen(asset_ref), callback=opened)

    def open_runbook(self, incident_id: str, runbook_id: str, asset_ref: str | None) -> None:
        from tui.screens.runbook_run import RunbookRunScreen

        self.push_screen(RunbookRunScreen(incident_id, runbook_id, asset_ref=asset_ref))

    def resume_run(self, incident_id: str, run_id: str) -> None:
        from tui.screens.runbook_run import RunbookRunScreen

        self.push_screen(RunbookRunScreen(incident_id, run_id=run_id))

    def open_postmortem(self, incident_id: str) -> None:
        from tui.screens.postmortem import PostmortemScreen

        self.push_screen(PostmortemScreen(incident_id))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_theme(self) -> None:
        """Dark or light, one key (any theme stays available from the palette → Theme)."""
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def _remember_theme(self, theme: str) -> None:
        from tui.preferences import save_theme

        save_theme(theme)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "owners":  # by name: importing the screen here would slow the first paint
            return type(self.screen).__name__ != "GraphScreen"
        return True

    def action_owners(self) -> None:
        from tui.screens.graph import GraphScreen

        if not isinstance(self.screen, GraphScreen):
            self.push_screen(GraphScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every key of the current screen is also a command in the palette (ctrl+p)."""
        yield from super().get_system_commands(screen)
        seen: set[str] = {"quit", "help"}
        yield SystemCommand("Help", "Every key of every screen", self.action_help)
        for _key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            yield SystemCommand(
                binding.description,
                f"{binding.tooltip or binding.description} (key: {binding.key_display or binding.key})",
                _runner(active.node, binding.action),
            )

    async def on_unmount(self) -> None:
        """Close the store once no run worker writes through it any more (one cancelled by
        quitting still records why its step did not run; it needs the event loop to finish,
        hence waiting here without blocking it). Bounded: a worker stuck on a database lock
        does not hold the exit up for longer than that lock's own timeout."""
        import asyncio

        for _ in range(600):  # a bound, not a timing: 12 s at most
            if self.backend.idle:
                break
            await asyncio.sleep(0.02)
        self.backend.close()


def _asset_provider() -> type:
    """Imported when the palette opens, not at start-up."""
    from tui.screens.graph import AssetSearchProvider

    return AssetSearchProvider


def _runner(node: object, action: str):  # type: ignore[no-untyped-def]
    """A callback running `action` on the node that owns the binding, as the key would."""

    async def run() -> None:
        from textual.dom import DOMNode

        assert isinstance(node, DOMNode)
        await node.run_action(action)

    return run


def run_app(context: AppContext) -> None:
    """Open the app on the context's workspace; returns when the operator quits."""
    OncallApp(context).run()
