"""The engine's questions, asked in the app: a `runbooks.prompts.Prompter` for the TUI.

The engine runs in a thread worker and asks synchronously; each question opens a modal on the
event loop and the worker thread waits for the answer. The run screen asks the usual questions
itself before calling the engine (pressing x *is* the confirmation; a destructive step has
already been confirmed by typing the asset name), so these modals only appear for what the
engine discovers while running: a manual instruction, a step in doubt after a crash, a failed
step the operator may fix by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from textual.app import App
from textual.screen import Screen

from tui.screens.choice import ChoiceScreen
from tui.screens.confirm_destructive import ConfirmDestructive
from tui.screens.prompt import TextPromptScreen
from tui.widgets.vocabulary import short_ref


class TuiPrompter:
    """Blocks the calling worker thread until the operator answers in a modal."""

    def __init__(self, app: App[Any], say: Callable[[str], None]) -> None:
        self.app = app
        self._say = say

    def _ask(self, screen: Screen[Any]) -> Any:
        answer: Future[Any] = Future()
        self.app.call_from_thread(self.app.push_screen, screen, answer.set_result)
        return answer.result()

    def confirm_step(self, step: Any, text: str) -> bool:
        choice = self._ask(
            ChoiceScreen(
                f"Run {step.id}?",
                step.title,
                [("yes", "Run it", "y"), ("no", "Not now", "n")],
                text,
            )
        )
        return choice == "yes"

    def confirm_destructive(self, step: Any, assets: Sequence[str], text: str) -> bool:
        name = short_ref(assets[0]) if assets else step.id
        return bool(self._ask(ConfirmDestructive(name, step.title, text)))

    def can_confirm_destructive(self) -> bool:
        return True  # the operator types the asset name in a modal

    def confirm_manual(self, step: Any, instruction: str) -> bool:
        choice = self._ask(
            ChoiceScreen(
                f"By hand: {step.id}",
                instruction,
                [("yes", "Done it", "y"), ("no", "Not done", "n")],
            )
        )
        return choice == "yes"

    def settle_in_doubt(self, step: Any, text: str) -> str:
        choice = self._ask(
            ChoiceScreen(
                f"{step.id} is in doubt",
                "It started before an interruption and was never recorded done, and it has no "
                "check. Look at the system: did its effect happen?",
                [
                    ("done", "It took effect", "d"),
                    ("redo", "Run it again", "r"),
                    ("stop", "Stop here", "s"),
                ],
                text,
            )
        )
        return choice or "stop"

    def break_glass(self, explanation: str) -> str | None:
        """Asked once, as the run starts, when the operator may not run its destructive steps;
        the engine refuses a reason shorter than a sentence."""
        reason = self._ask(
            TextPromptScreen(
                "Break glass?",
                f"{explanation}. To go ahead anyway, write why (at least a sentence): it goes "
                "on the timeline as an override.",
                placeholder="who you could not reach, and why it cannot wait",
                submit="Break glass",
            )
        )
        return reason or None

    def say(self, text: str) -> None:
        self._say(text)
