"""Opening an incident: pick the asset by fuzzy search, give a title and a severity.

The asset must be a real catalog entry — the blast radius, owners and runbooks all hang off it
— so the form only accepts an asset chosen from the matches, never free text.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, Static

from tui.messages import AssetHighlighted, AssetSelected, AssetsNotFound
from tui.problems import explain
from tui.screens.base import OncallModal
from tui.widgets.asset_search import AssetSearch
from tui.widgets.vocabulary import SEVERITIES, SEVERITY, short_ref


@dataclass(frozen=True, slots=True)
class NewIncident:
    """What the form collected; the caller opens the incident in a worker."""

    asset: str
    title: str
    severity: str


class NewIncidentScreen(OncallModal[str | None]):
    """A dialog that opens the incident itself and returns its id; escape cancels (None).

    Opening happens here, in a worker, so a refusal (unknown asset, store unreachable) is shown
    in the form, next to what the operator typed, rather than after the dialog has gone.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Open incident"),
        Binding("ctrl+o", "open_existing", "Open the existing one", show=False),
    ]

    def __init__(self, asset_ref: str | None = None) -> None:
        super().__init__()
        self.asset_ref = asset_ref
        # An incident already open on the chosen asset, once warned about: a second ctrl+s
        # opens a new one anyway, ctrl+o opens that one instead.
        self.existing: str | None = None
        self.warned_for: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("[b]Open an incident[/b]", classes="dialog-title")
            yield Static(
                "Asset: type to search, ↓↑ to pick, enter to choose.", classes="field-help"
            )
            yield AssetSearch(
                initial=short_ref(self.asset_ref) if self.asset_ref else "",
                assets_only=True,
                compact=True,
                id="new-asset",
            )
            yield Static(self._asset_line(), id="chosen-asset")
            with Horizontal(classes="field"):
                yield Label("Title", classes="field-label")
                yield Input(
                    placeholder="What is broken, as the alert says it", compact=True, id="title"
                )
            with Horizontal(classes="field"):
                yield Label("Severity", classes="field-label")
                yield Select(
                    [(SEVERITY[s].text, s) for s in SEVERITIES],
                    value="SEV2",
                    allow_blank=False,
                    compact=True,
                    id="severity",
                )
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Open incident ^s", variant="primary", compact=True, id="open")
                yield Button("Cancel esc", compact=True, id="cancel")

    def _asset_line(self) -> Content:
        if self.asset_ref:
            return Content.from_markup("→ [b]$ref[/b]", ref=self.asset_ref)
        return Content.from_markup("[dim]→ no asset chosen yet[/]")

    def on_mount(self) -> None:
        if self.asset_ref:
            self.query_one("#title", Input).focus()
        else:
            self.query_one(AssetSearch).focus_input()

    @on(AssetHighlighted)
    def _highlighted(self, message: AssetHighlighted) -> None:
        message.stop()
        self.asset_ref = message.ref
        self.query_one("#chosen-asset", Static).update(self._asset_line())

    @on(AssetsNotFound)
    def _not_found(self, message: AssetsNotFound) -> None:
        message.stop()
        self.asset_ref = None  # the last match no longer stands for what was typed
        self.query_one("#chosen-asset", Static).update(self._asset_line())

    @on(AssetSelected)
    def _selected(self, message: AssetSelected) -> None:
        message.stop()
        self.asset_ref = message.ref
        self.query_one("#chosen-asset", Static).update(self._asset_line())
        self.query_one("#title", Input).focus()

    @on(Input.Submitted, "#title")
    def _title_submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#open")
    def _open_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        severity = self.query_one("#severity", Select).value
        problems = []
        if not self.asset_ref:
            problems.append("choose an asset from the matches")
        if not title:
            problems.append("give a title")
        if problems:
            self.query_one("#form-error", Static).update(
                Content.from_markup("[$error]✖ To open an incident: $p.[/]", p="; ".join(problems))
            )
            return
        assert self.asset_ref is not None
        self.query_one("#form-error", Static).update("Opening…")
        self.open_in_store(NewIncident(self.asset_ref, title, str(severity)))

    def action_open_existing(self) -> None:
        if self.existing is not None:
            self.dismiss(self.existing)

    @work(thread=True, exclusive=True, group="open-incident")
    def open_in_store(self, draft: NewIncident) -> None:
        try:
            if self.warned_for != draft.asset:
                already = self.backend.open_incidents_on(draft.asset)
                if already:
                    first = already[0]
                    self.existing, self.warned_for = first.id, draft.asset
                    self.app.call_from_thread(
                        self.query_one("#form-error", Static).update,
                        Content.from_markup(
                            "[$warning]⚠ $id is already open on $asset[/] ($title).\n"
                            "ctrl+o opens $id; ctrl+s again opens a second incident anyway.",
                            id=first.id,
                            asset=short_ref(first.asset),
                            title=first.title,
                        ),
                    )
                    return
            incident = self.backend.open_incident(draft.title, draft.asset, draft.severity)
        except Exception as exc:
            problem = explain(exc)
            self.app.call_from_thread(
                self.query_one("#form-error", Static).update,
                Content.from_markup("[$error]✖ $m[/]\n$n", m=problem.message, n=problem.next_step),
            )
            return
        self.app.call_from_thread(self.dismiss, incident.id)
