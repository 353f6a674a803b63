"""How the engine asks the operator: one small protocol the CLI and the TUI implement.

The engine never reads a terminal. It asks through a `Prompter` (a typed question, an answer),
so the CLI can prompt on stdin, the TUI can open a modal from its worker thread, and a script
can answer from flags with `ScriptPrompter`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from runbooks.engine import StepState
    from runbooks.permissions import BreakGlassRequest

Settlement = Literal["done", "redo", "stop"]


class Prompter(Protocol):
    def confirm_step(self, step: StepState, text: str) -> bool:
        """Run this (non-destructive) step, shown as `text`?"""

    def confirm_destructive(self, step: StepState, assets: Sequence[str], text: str) -> bool:
        """Run this destructive step on these assets? (The TUI asks to type the asset name.)"""

    def can_confirm_destructive(self) -> bool:
        """Can this prompter ever say yes to a destructive step (a person at a terminal or in
        the app, or `--yes-destructive`)? Asked before the run's first effect (`Gate`)."""

    def confirm_manual(self, step: StepState, instruction: str) -> bool:
        """Has the operator done this by hand?"""

    def settle_in_doubt(self, step: StepState, text: str) -> Settlement:
        """A step started before an interruption has no check: did its effect happen?"""

    def break_glass(self, request: BreakGlassRequest) -> str | None:
        """The operator may not run this run's destructive steps (`request` says why, and whom
        to call instead): their written reason to go ahead anyway (at least
        `request.min_reason` characters), or None to stop. Asked once per run, before its first
        effect."""

    def say(self, text: str) -> None:
        """Show a message (a printed notification)."""


@dataclass
class ScriptPrompter:
    """Answers from flags, never interactively: `--yes`, `--yes-destructive`, `--in-doubt`.

    `yes` never confirms a destructive step: that takes `yes_destructive`, so a script that
    passes `--yes` out of habit cannot delete data by accident.
    """

    yes: bool = False
    yes_destructive: bool = False
    in_doubt: Settlement | None = None
    lines: list[str] | None = None

    def confirm_step(self, step: StepState, text: str) -> bool:
        return self.yes

    def confirm_destructive(self, step: StepState, assets: Sequence[str], text: str) -> bool:
        return self.yes_destructive

    def can_confirm_destructive(self) -> bool:
        return self.yes_destructive

    def confirm_manual(self, step: StepState, instruction: str) -> bool:
        return self.yes

    def settle_in_doubt(self, step: StepState, text: str) -> Settlement:
        return self.in_doubt or "stop"

    def break_glass(self, request: BreakGlassRequest) -> str | None:
        return None  # a script breaks glass only with --break-glass REASON

    def say(self, text: str) -> None:
        if self.lines is not None:
            self.lines.append(text)
        else:
            print(text)
