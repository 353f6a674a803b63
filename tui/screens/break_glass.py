"""Break glass: run destructive steps on assets you neither own nor are on call for.

Asked once per run, before its first effect (the engine decides permission up front and asks
through the app's prompter). Before anyone breaks glass it names whom to call instead: each
asset's owner team and the person on call for it now. The reason must meet the engine's rule
(a sentence, `runbooks.gate.MIN_BREAK_GLASS_REASON` characters or more); a shorter one is
refused here with that rule, and the dialog stays open. Escape cancels: the run is refused,
having changed nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Static

from tui.screens.base import OncallModal
from tui.widgets.people import shorten_refs

if TYPE_CHECKING:
    from runbooks.permissions import BreakGlassRequest


class BreakGlassScreen(OncallModal[str | None]):
    """Returns the reason (checked by the engine's rule), or None on escape or cancel."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, request: BreakGlassRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        request = self.request
        with Vertical(id="dialog", classes="-destructive"):
            yield Static(
                Content.from_markup("[$error][b]Break glass?[/b][/]"), classes="dialog-title"
            )
            yield Static(
                Content.from_markup(
                    "$why: this run's destructive steps need an owner or the person on call.",
                    why=shorten_refs(request.denial()),
                ),
                classes="dialog-text",
            )
            with Vertical(id="call-instead"):
                yield Static(Content.from_markup("[b]Call instead:[/b]"), classes="dialog-text")
                # One widget per contact, indented by padding: a long line wraps under itself.
                for contact in request.contacts:
                    yield Static(Content(contact.line()), classes="dialog-text contact-line")
            yield Static(
                Content(
                    "If none of them can act in time, write why you must (at least "
                    f"{request.min_reason} characters). It goes on the timeline as an override, "
                    "once for this run."
                ),
                classes="dialog-text",
            )
            yield Input(
                placeholder="who you could not reach, and why it cannot wait",
                compact=True,
                id="prompt-input",
            )
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Break glass ⏎", variant="error", compact=True, id="submit")
                yield Button("Cancel esc", compact=True, id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        from runbooks.errors import RunbookError
        from runbooks.gate import check_break_glass_reason

        typed = self.query_one(Input).value
        try:
            reason = check_break_glass_reason(typed)
        except RunbookError:
            counted = len(" ".join(typed.split()))
            self.query_one("#form-error", Static).update(
                Content.from_markup(
                    "[$error]✖ A reason needs at least $n characters (this one has $c): who you "
                    "could not reach, and why it cannot wait. Or press escape to cancel.[/]",
                    n=str(self.request.min_reason),
                    c=str(counted),
                )
            )
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
