"""The one-line bar at the top of every screen: where you are, in which workspace, as whom.

Knowing *who* the app will record as the actor matters before pressing anything: every action
lands on an append-only timeline under that name.
"""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from tui.widgets.vocabulary import short_ref


class TitleBar(Widget):
    """`oncall ▸ <screen>` on the left; workspace and operator on the right."""

    screen_title: reactive[str] = reactive("")
    workspace_name: reactive[str] = reactive("…")
    operator: reactive[str] = reactive("…")

    def __init__(self, screen_title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.set_reactive(TitleBar.screen_title, screen_title)

    def on_mount(self) -> None:
        # The app learns these from a worker after the first paint; follow them when they change.
        self.watch(self.app, "workspace_name", self._set_workspace)
        self.watch(self.app, "operator_name", self._set_operator)

    def _set_workspace(self, name: str) -> None:
        self.workspace_name = name

    def _set_operator(self, name: str) -> None:
        self.operator = name

    def render(self) -> Content:
        left = Content.from_markup("[b]oncall[/b] ▸ $title", title=self.screen_title)
        right = Content.from_markup(
            "$ws · as [b]$op[/b]", ws=self.workspace_name, op=short_ref(self.operator)
        )
        gap = max(1, self.size.width - left.cell_length - right.cell_length - 2)
        return Content.assemble(" ", left, " " * gap, right, " ")
