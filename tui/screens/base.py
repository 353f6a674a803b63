"""What every screen of the app shares: a typed handle on the app and its backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from textual.binding import Binding
from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from tui.app import OncallApp
    from tui.backend import Backend

ResultType = TypeVar("ResultType")


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


class OncallModal(ModalScreen[ResultType]):
    """A dialog over a screen; escape always cancels (dismisses with the modal's 'no' value)."""

    @property
    def oncall(self) -> OncallApp:
        return cast("OncallApp", self.app)

    @property
    def backend(self) -> Backend:
        return self.oncall.backend
