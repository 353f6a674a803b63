"""The top of the incident screen: status, severity, title, and timers that tick every second.

"How long has this been going on, and has anyone picked it up?" is the first question on any
incident call; the timers answer it without arithmetic. The clock is the app's, so tests and
snapshots can freeze it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from textual.content import Content
from textual.widget import Widget

from tui.widgets.vocabulary import INCIDENT_STATUS, SEVERITY, badge_for, format_since, short_ref


class IncidentHeader(Widget):
    """Two lines: badges, id and title; then asset, commander and the timers."""

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.incident: Any | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

    def show(self, incident: Any) -> None:
        self.incident = incident
        self.refresh()

    def render(self) -> Content:
        inc = self.incident
        if inc is None:
            return Content("Loading incident…")
        now = self.clock()
        first = Content.assemble(
            badge_for(INCIDENT_STATUS, inc.status).content(),
            "  ",
            badge_for(SEVERITY, inc.severity).content(),
            Content.from_markup("  [b]$id[/b]  $title", id=inc.id, title=inc.title),
        )
        # Once resolved the clocks stop: they then show how long each phase took.
        end = inc.resolved_at or now
        timers = [f"⏱ {format_since(inc.opened_at, end)} since detected"]
        if inc.acknowledged_at is None:
            timers.append("not acknowledged")
        else:
            timers.append(f"{format_since(inc.acknowledged_at, end)} since ack")
        where = f"asset {short_ref(inc.asset)}"
        if inc.commander:
            where += f" · commander {short_ref(inc.commander)}"
        second = Content.assemble(
            Content(" · ".join(timers)), Content.from_markup(" · [dim]$where[/]", where=where)
        )
        return Content("\n").join([first, second])
