"""What every screen of the app shares: a typed handle on the app and its backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from textual.binding import Binding
from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from tui.app import OncallApp
    from tui.backend import Backend
    from tui.problems import Problem

ResultType = TypeVar("ResultType")


def refusals(*keys: str) -> list[Binding]:
    """Hidden fallback bindings: a key whose action cannot act now (its `check_action` says
    no: still loading, nothing to do) falls through to `refused`, which says why in the
    screen's notice instead of Textual dropping the key in silence. Put them after the real
    bindings; they have no description, so neither the footer nor the help lists them."""
    return [Binding(key, f"refused({key!r})", show=False) for key in keys]


class OncallScreen(Screen[ResultType]):
    """A full screen of the app (has the title bar, a notice line and the footer)."""

    BINDINGS = [Binding("escape", "back", "Back")]

    @property
    def oncall(self) -> OncallApp:
        return cast("OncallApp", self.app)

    @property
    def backend(self) -> Backend:
        return self.oncall.backend

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":  # not on the bottom screen; nothing else (stable under a modal)
            return self in self.app.screen_stack and self.app.screen_stack.index(self) > 0
        return True

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.dismiss()

    def why_not(self, key: str) -> Problem | None:
        """Why `key` cannot act right now, and what to do (see `refusals`); None: say nothing."""
        return None

    def action_refused(self, key: str) -> None:
        from tui.widgets.notice import Notice

        problem = self.why_not(key)
        notices = self.query(Notice)
        if problem is not None and notices:
            notices.first().show_problem(problem)


class OncallModal(ModalScreen[ResultType]):
    """A dialog over a screen; escape always cancels (dismisses with the modal's 'no' value)."""

    @property
    def oncall(self) -> OncallApp:
        return cast("OncallApp", self.app)

    @property
    def backend(self) -> Backend:
        return self.oncall.backend
