"""A question with a few named answers (a manual step, a step in doubt); escape answers None.

Each answer is a button with its own key, so the question can be answered from the keyboard
without hunting for focus.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from tui.screens.base import OncallModal


class ChoiceScreen(OncallModal[str | None]):
    """`choices` are (answer, label, key); returns the chosen answer, or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, text: str, choices: Sequence[tuple[str, str, str]], detail: str = ""
    ) -> None:
        super().__init__()
        self.question_title = title
        self.text = text
        self.detail = detail
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                Content.from_markup("[b]$t[/b]", t=self.question_title), classes="dialog-title"
            )
            yield Static(Content(self.text), classes="dialog-text")
            if self.detail:
                yield Static(Content(self.detail), classes="action-text")
            with Horizontal(classes="dialog-buttons"):
                for index, (answer, label, key) in enumerate(self.choices):
                    yield Button(
                        Content(f"{label} ({key})"),
                        variant="primary" if index == 0 else "default",
                        compact=True,
                        id=f"choice-{answer}",
                    )

    def on_mount(self) -> None:
        for answer, _label, key in self.choices:
            self._bindings.bind(key, f"screen.choose('{answer}')", show=False)
        self.query_one(f"#choice-{self.choices[0][0]}", Button).focus()

    def action_choose(self, answer: str) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("choice-"):
            self.dismiss(event.button.id.removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(None)
