"""Owner lookup: type an asset's name, see who owns it, who is on call now, what it touches.

The answer to "who owns this model?" at 3 AM: the details follow the search cursor, so the
operator reads the owner without pressing anything but the letters of the name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Static, TabbedContent, TabPane, Tabs
from textual.worker import get_current_worker

from tui.messages import AssetHighlighted, AssetSelected, AssetsNotFound
from tui.problems import Problem, explain
from tui.screens.base import OncallScreen
from tui.widgets.asset_search import AssetSearch
from tui.widgets.dependency_tree import DependencyTree, ReachIndex, format_path
from tui.widgets.notice import Notice
from tui.widgets.ownership import OwnershipPanel
from tui.widgets.runbook_list import RunbookList
from tui.widgets.title_bar import TitleBar
from tui.widgets.vocabulary import hops_text, short_ref


@dataclass
class AssetDetails:
    """Everything the screen shows about one asset, gathered in one worker pass."""

    entity: Any
    ownership: Any
    downstream: ReachIndex
    upstream: ReachIndex
    runbooks: list[Any]
    runbooks_problem: Problem | None


class AssetSearchProvider(Provider):
    """The command palette searches the catalog too: pick an asset, land on its owners."""

    async def search(self, query: str) -> Hits:
        if len(query.strip()) < 2:
            return
        app = self.app
        backend = getattr(app, "backend", None)
        if backend is None:
            return
        try:
            hits = await asyncio.to_thread(backend.find_assets, query, 8)
        except Exception:  # the catalog failed to load: the owners screen says why
            return
        for rank, hit in enumerate(hits):
            kind = f"{hit.kind}·{hit.type}" if hit.type else hit.kind
            yield Hit(
                1.0 - rank / 100,
                Content.from_markup("Owners of [b]$name[/b]", name=hit.name),
                partial(_show_owners, app, hit.ref),
                help=Content(f"{kind} · {hit.title or hit.ref}"),
            )


def _show_owners(app: Any, ref: str) -> None:
    app.push_screen(GraphScreen(ref))


class GraphScreen(OncallScreen[None]):
    """Search box and matches on the left; owners, trees and runbooks of the match on the right."""

    BINDINGS = [
        Binding("slash", "focus_search", "Search", key_display="/"),
        Binding("ctrl+o", "open_incident", "Open incident here"),
    ]

    class DetailsLoaded(Message):
        def __init__(self, ref: str, details: AssetDetails | None, problem: Problem | None) -> None:
            super().__init__()
            self.ref = ref
            self.details = details
            self.problem = problem

    def __init__(self, ref: str | None = None) -> None:
        super().__init__()
        self.initial_ref = ref
        self.current_ref: str | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar("Owners & assets")
        yield Notice(id="notice")
        with Horizontal(id="graph-body"):
            initial = short_ref(self.initial_ref) if self.initial_ref else ""
            yield AssetSearch(initial=initial, id="asset-search")
            with Vertical(id="asset-details"), TabbedContent(id="asset-tabs"):
                with TabPane("Owners", id="tab-owners"):
                    yield OwnershipPanel(
                        "Type a name on the left: owner, on call now and escalation show here.",
                        id="ownership",
                    )
                with TabPane("Downstream", id="tab-downstream"):
                    yield DependencyTree("Downstream", id="downstream-tree")
                    yield Static("", id="downstream-path", classes="path-line")
                with TabPane("Upstream", id="tab-upstream"):
                    yield DependencyTree("Upstream", id="upstream-tree")
                    yield Static("", id="upstream-path", classes="path-line")
                with TabPane("Runbooks", id="tab-runbooks"):
                    yield RunbookList(id="asset-runbooks")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(AssetSearch).focus_input()
        if self.initial_ref:
            self.load_details(self.initial_ref)

    def action_focus_search(self) -> None:
        self.query_one(AssetSearch).focus_input()

    def action_open_incident(self) -> None:
        if self.current_ref:
            self.oncall.start_new_incident(self.current_ref)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_incident":
            return self.current_ref is not None
        return super().check_action(action, parameters)

    @on(AssetHighlighted)
    def _highlighted(self, message: AssetHighlighted) -> None:
        if message.ref != self.current_ref:
            self.load_details(message.ref)

    @on(AssetsNotFound)
    def _not_found(self, message: AssetsNotFound) -> None:
        """Nothing matches: the previous asset's owners must not stay on screen as if they
        answered the new search."""
        self.current_ref = None
        self.refresh_bindings()
        self.workers.cancel_group(self, "asset-details")
        self.query_one(OwnershipPanel).update(
            Content.from_markup(
                "No asset matches [b]$q[/b]: nothing is shown for it.", q=message.query
            )
        )
        for tree in self.query(DependencyTree):
            tree.show_message("—")
        for path in ("#downstream-path", "#upstream-path"):
            self.query_one(path, Static).update("")
        self.query_one(RunbookList).show([], None)

    @on(AssetSelected)
    def _selected(self, message: AssetSelected) -> None:
        if message.ref != self.current_ref:
            self.load_details(message.ref)
        self.query_one("#asset-tabs", TabbedContent).query_one(Tabs).focus()

    @work(thread=True, exclusive=True, group="asset-details")
    def load_details(self, ref: str) -> None:
        worker = get_current_worker()
        try:
            entity = self.backend.entity(ref)
            ownership = self.backend.owners(entity.ref)
            downstream = ReachIndex.build(entity.ref, self.backend.blast_radius(entity.ref))
            upstream = ReachIndex.build(entity.ref, self.backend.upstream(entity.ref))
        except Exception as exc:
            if not worker.is_cancelled:
                self.post_message(self.DetailsLoaded(ref, None, explain(exc)))
            return
        runbooks: list[Any] = []
        runbooks_problem = None
        try:
            runbooks = self.backend.runbooks_for(entity.ref)
        except Exception as exc:  # runbooks are optional here: show why they are missing
            runbooks_problem = explain(exc)
        details = AssetDetails(entity, ownership, downstream, upstream, runbooks, runbooks_problem)
        if not worker.is_cancelled:
            self.post_message(self.DetailsLoaded(entity.ref, details, None))

    @on(DetailsLoaded)
    def _show_details(self, message: DetailsLoaded) -> None:
        notice = self.query_one(Notice)
        if message.problem is not None or message.details is None:
            assert message.problem is not None
            notice.show_problem(message.problem)
            return
        notice.clear()
        details = message.details
        self.current_ref = message.ref
        self.refresh_bindings()
        self.query_one(OwnershipPanel).show(details.ownership, details.entity)
        name = short_ref(details.entity.ref)
        down = self.query_one("#downstream-tree", DependencyTree)
        down.show_index(details.downstream, f"{name} feeds")
        self.query_one("#downstream-path", Static).update(
            "Select a node to see how it is reached."
            if len(details.downstream)
            else "Feeds nothing."
        )
        up = self.query_one("#upstream-tree", DependencyTree)
        up.show_index(details.upstream, f"{name} is fed by")
        self.query_one("#upstream-path", Static).update(
            "Select a node to see how it is reached."
            if len(details.upstream)
            else "Fed by nothing."
        )
        self.query_one(RunbookList).show(details.runbooks, details.runbooks_problem)

    @on(DependencyTree.PathShown)
    def _show_path(self, message: DependencyTree.PathShown) -> None:
        reached = message.reached
        downstream = message.tree.id == "downstream-tree"
        target = "#downstream-path" if downstream else "#upstream-path"
        # Upstream paths run from the asset back to its sources; show them in data-flow order.
        path = reached.path if downstream else tuple(reversed(reached.path))
        self.query_one(target, Static).update(
            Content(f"{format_path(path)}  ({hops_text(reached.hops)})")
        )
