"""A one-line text question (a note, a reason to force a lease): returns the text or None."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Static

from tui.screens.base import OncallModal


class TextPromptScreen(OncallModal[str | None]):
    """Asks for text; enter submits (empty is refused), escape cancels with None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, explanation: str, placeholder: str = "", submit: str = "Save"
    ) -> None:
        super().__init__()
        self.prompt_title = title
        self.explanation = explanation
        self.placeholder = placeholder
        self.submit_label = submit

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                Content.from_markup("[b]$t[/b]", t=self.prompt_title), classes="dialog-title"
            )
            yield Static(Content(self.explanation), classes="dialog-text")
            yield Input(placeholder=self.placeholder, compact=True, id="prompt-input")
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.submit_label} ⏎", variant="primary", compact=True, id="submit")
                yield Button("Cancel esc", compact=True, id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def _submit(self) -> None:
        text = self.query_one(Input).value.strip()
        if not text:
            self.query_one("#form-error", Static).update(
                Content.from_markup(
                    "[$error]✖ Write something first, or press escape to cancel.[/]"
                )
            )
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
