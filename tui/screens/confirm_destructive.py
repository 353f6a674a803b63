"""The last gate before a destructive step: type the asset's name to go ahead.

Typing a name cannot be done on autopilot the way pressing `y` can; it makes a tired operator
read which asset is about to change. Only an exact match (ignoring surrounding spaces) confirms;
escape, or the Cancel button, always cancels.

It is opened by the engine (through the app's prompter) only once the step's check has run and
shown that the step must act, and it says how much will change, read beforehand without
changing anything (`Action.preview`: "deletes 490 rows of 4 loads"). When that cannot be known
it says so plainly; it never guesses, and it never stops the step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Static

from tui.screens.base import OncallModal

if TYPE_CHECKING:
    from runbooks.actions import Preview


def preview_line(preview: Preview | None) -> Content:
    """What the step will change, as read before asking; or plainly why that is not known."""
    if preview is None:
        return Content.from_markup(
            "[dim]No preview: this action cannot tell what it would change without doing it.[/]"
        )
    error = preview.data.get("error")
    if error is not None:
        return Content.from_markup(
            "[$warning]No preview: it could not be read ($e).[/] What will change is not known "
            "beforehand.",
            e=str(error),
        )
    return Content.from_markup("[b]Will change:[/b] [$warning]$t[/]", t=preview.text)


class ConfirmDestructive(OncallModal[bool]):
    """Returns True only when the typed text equals `asset_name`; False on escape or cancel."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        # The name's input keeps the focus; these scroll a long action above it.
        Binding("shift+down", "scroll_action(3)", "Scroll the action", show=False),
        Binding("shift+up", "scroll_action(-3)", "Scroll the action", show=False),
        Binding("pagedown", "scroll_action(6)", show=False),
        Binding("pageup", "scroll_action(-6)", show=False),
    ]

    def __init__(
        self,
        asset_name: str,
        step_title: str,
        action_text: str,
        preview: Preview | None = None,
    ) -> None:
        super().__init__()
        self.asset_name = asset_name
        self.step_title = step_title
        self.action_text = action_text
        self.preview = preview

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-destructive"):
            yield Static(
                Content.from_markup("[$error][b]⚠ Destructive step[/b][/]: $t", t=self.step_title),
                classes="dialog-title",
            )
            yield Static(preview_line(self.preview), id="destructive-preview")
            with VerticalScroll(id="destructive-scroll"):
                yield Static(
                    Content(self.action_text), id="destructive-action", classes="action-text"
                )
            yield Static("", id="destructive-scroll-keys", classes="scroll-keys")
            yield Static(
                Content.from_markup(
                    "This changes [b]$name[/b] and cannot be undone by oncall.\n"
                    "Type [b]$name[/b] to run it:",
                    name=self.asset_name,
                ),
                classes="dialog-text",
            )
            yield Input(placeholder="the asset's name", compact=True, id="confirm-name")
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run it ⏎", variant="error", compact=True, id="confirm")
                yield Button("Cancel esc", compact=True, id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self.call_after_refresh(self._say_scroll_keys)

    def _say_scroll_keys(self) -> None:
        """Name the keys that scroll the action when it does not fit (at 80x24 it often does
        not): the input has the focus, so the mouse would otherwise be the only way."""
        scroll = self.query_one("#destructive-scroll", VerticalScroll)
        hint = self.query_one("#destructive-scroll-keys", Static)
        hidden = scroll.max_scroll_y
        hint.display = hidden > 0
        if hidden > 0:
            below = max(0, hidden - round(scroll.scroll_y))
            hint.update(
                Content.from_markup(
                    "[dim]shift+↓/↑ (or page down/up) scrolls the action · $n more below[/]",
                    n=str(below),
                )
            )

    def action_scroll_action(self, lines: int) -> None:
        scroll = self.query_one("#destructive-scroll", VerticalScroll)
        scroll.scroll_relative(y=lines, animate=False, immediate=True)
        self._say_scroll_keys()

    def matches(self) -> bool:
        return self.query_one(Input).value.strip() == self.asset_name

    @on(Input.Submitted)
    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if self.matches():
            self.dismiss(True)
            return
        typed = self.query_one(Input).value.strip()
        why = "Type the asset's name exactly" if typed else "Type the asset's name first"
        self.query_one("#form-error", Static).update(
            Content.from_markup(
                "[$error]✖ $why ($name), or press escape to cancel.[/]",
                why=why,
                name=self.asset_name,
            )
        )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
