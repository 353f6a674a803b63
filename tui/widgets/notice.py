"""A one-or-two-line banner that says, in place, what went wrong and what to do next.

Errors belong next to what failed, not in a toast that vanishes while the operator is reading
the runbook. The banner hides itself when there is nothing to say.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tui.problems import Problem


class Notice(Static):
    """Shows a `Problem` (error or warning) or a plain information line; hidden when empty."""

    DEFAULT_CLASSES = "-empty"

    def show_problem(self, problem: Problem) -> None:
        symbol, word = ("✖", "Error") if problem.kind == "error" else ("⚠", "Warning")
        self.set_classes(f"-{problem.kind}")
        self.update(
            Content.from_markup(
                "[b]$symbol $word:[/b] $message\n[i]Next:[/i] $next",
                symbol=symbol,
                word=word,
                message=problem.message,
                next=problem.next_step,
            )
        )

    def show_info(self, text: str, *, seconds: float | None = None) -> None:
        """An information line; with `seconds`, it clears itself then (the same words are on
        the timeline), so it does not keep rows of an 80x24 screen for minutes."""
        self.set_classes("-info")
        self.update(Content(text))
        self._shown = text
        if seconds is not None:
            self.set_timer(seconds, lambda: self._expire(text))

    def _expire(self, text: str) -> None:
        if getattr(self, "_shown", None) == text and self.has_class("-info"):
            self.clear()

    def clear(self) -> None:
        self.set_classes("-empty")
        self.update("")

    @property
    def is_showing(self) -> bool:
        return not self.has_class("-empty")
