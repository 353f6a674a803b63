"""The engine's questions, asked in the app: a `runbooks.prompts.Prompter` for the TUI.

The engine runs in a thread worker and asks synchronously; each question opens a modal on the
event loop and the worker thread waits for the answer. Pressing x on an ordinary step *is* its
confirmation, so the run screen passes it along; everything else is asked here, in the engine's
order: break-glass once as the run starts (naming whom to call instead), and a destructive
step's typed confirmation only after its check has shown that it must act, with its preview
("deletes 490 rows of 4 loads"). Also: a manual instruction, a step in doubt after a crash, a
failed step the operator may fix by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, TypeVar

from textual.worker import NoActiveWorker, Worker, get_current_worker

from tui.screens.break_glass import BreakGlassScreen
from tui.screens.choice import ChoiceScreen
from tui.screens.confirm_destructive import ConfirmDestructive
from tui.widgets.vocabulary import short_ref

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from runbooks.permissions import BreakGlassRequest
    from runbooks.prompts import Settlement
    from runbooks.run_state import StepState

Answer = TypeVar("Answer")


class TuiPrompter:
    """Blocks the calling worker thread until the operator answers in a modal."""

    def __init__(self, app: App[object], say: Callable[[str], None]) -> None:
        self.app = app
        self._say = say

    def _ask(self, screen: Screen[Answer]) -> Answer | None:
        """Open `screen` and wait for its answer. None when the worker is cancelled meanwhile
        (the app quitting with the dialog open): the engine takes that as "no", so nothing
        runs and the thread does not hold the app's exit up."""
        answer: Future[Answer | None] = Future()
        self.app.call_from_thread(self.app.push_screen, screen, answer.set_result)
        try:
            worker: Worker[object] | None = get_current_worker()
        except NoActiveWorker:
            worker = None
        while True:
            try:
                return answer.result(timeout=0.1)
            except FutureTimeout:
                if worker is not None and worker.is_cancelled:
                    return None

    def confirm_step(self, step: StepState, text: str) -> bool:
        choice = self._ask(
            ChoiceScreen(
                f"Run {step.id}?",
                step.title,
                [("yes", "Run it", "y"), ("no", "Not now", "n")],
                text,
            )
        )
        return choice == "yes"

    def confirm_destructive(self, step: StepState, assets: Sequence[str], text: str) -> bool:
        """Asked by the engine after the step's check, so only for a step that will act."""
        name = short_ref(assets[0]) if assets else step.id
        return bool(self._ask(ConfirmDestructive(name, step.title, text, step.preview)))

    def can_confirm_destructive(self) -> bool:
        return True  # the operator types the asset name in a modal

    def confirm_manual(self, step: StepState, instruction: str) -> bool:
        choice = self._ask(
            ChoiceScreen(
                f"By hand: {step.id}",
                instruction,
                [("yes", "Done it", "y"), ("no", "Not done", "n")],
            )
        )
        return choice == "yes"

    def settle_in_doubt(self, step: StepState, text: str) -> Settlement:
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
        if choice == "done":
            return "done"
        if choice == "redo":
            return "redo"
        return "stop"

    def break_glass(self, request: BreakGlassRequest) -> str | None:
        """Asked once, as the run starts, when the operator may not run its destructive steps;
        the dialog names whom to call instead and keeps to the engine's rule for a reason."""
        return self._ask(BreakGlassScreen(request)) or None

    def say(self, text: str) -> None:
        self._say(text)
