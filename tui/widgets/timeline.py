"""The incident's timeline, live: new events are appended as the store reports them.

The timeline is append-only in the store, so the widget only ever appends: it remembers the
last sequence number shown and adds what comes after. It follows the newest event unless the
operator has moved the cursor up to read an older one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.widgets.vocabulary import EVENT_KIND, badge_for, format_clock, short_ref


def event_content(event: Any) -> Content:
    badge = badge_for(EVENT_KIND, event.kind)
    return Content.assemble(
        Content.from_markup("[dim]$at[/] ", at=format_clock(event.at)),
        badge.content(),
        Content.from_markup(
            " $msg [dim]— $actor[/]", msg=event.message, actor=short_ref(event.actor)
        ),
    )


class Timeline(OptionList):
    """Events as `HH:MM:SS symbol kind message — actor`, oldest first."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.last_seq = 0

    def add_events(self, events: Sequence[Any]) -> int:
        """Append the events not yet shown; returns how many were new."""
        fresh = [e for e in events if e.seq > self.last_seq]
        if not fresh:
            return 0
        following = self.highlighted is None or self.highlighted >= self.option_count - 1
        self.add_options(Option(event_content(e), id=f"event-{e.seq}") for e in fresh)
        self.last_seq = fresh[-1].seq
        if following:
            self.highlighted = self.option_count - 1
            self.scroll_end(animate=False)
        return len(fresh)

    def reset(self) -> None:
        self.clear_options()
        self.last_seq = 0
