"""The list of open incidents: severity, age, status, asset, commander, title.

Rows are keyed by incident id so a refresh every few seconds keeps the cursor on the same
incident, and the table is only rebuilt when something visible changed (no flicker while the
operator reads).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from tui.messages import IncidentSelected
from tui.widgets.vocabulary import (
    INCIDENT_STATUS,
    SEVERITY,
    Badge,
    badge_for,
    format_since,
    short_ref,
)

COLUMNS: tuple[tuple[str, str], ...] = (
    ("sev", "Sev"),
    ("id", "ID"),
    ("age", "Age"),
    ("status", "Status"),
    ("asset", "Asset"),
    ("commander", "Commander"),
    ("title", "Title"),
)


class IncidentTable(DataTable[Any]):
    """Open incidents, newest first; Enter posts `IncidentSelected`."""

    BINDINGS = [Binding("enter", "open_incident", "Open", show=True)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._shown: tuple[tuple[str, ...], ...] = ()

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def _badge_text(self, badge: Badge) -> Text:
        """DataTable paints Rich text, so theme colours are looked up by name when rows are built."""
        colour = self.app.theme_variables.get(badge.tone)
        return Text(badge.text, style=colour or "")

    def show(self, incidents: Sequence[Any], now: datetime) -> None:
        rows = tuple(
            (
                inc.id,
                inc.severity,
                format_since(inc.opened_at, now),
                inc.status,
                short_ref(inc.asset),
                short_ref(inc.commander),
                inc.title,
            )
            for inc in incidents
        )
        if rows == self._shown:
            return
        selected = self._selected_key()
        self._fill(rows)
        if selected is not None and selected in {r[0] for r in rows}:
            self.move_cursor(row=self.get_row_index(selected))

    def repaint_badges(self) -> None:
        """After a theme change the looked-up colours are stale: rebuild from the same data."""
        self._fill(self._shown)

    def _fill(self, rows: tuple[tuple[str, ...], ...]) -> None:
        self._shown = rows
        self.clear()
        for inc_id, severity, age, status, asset, commander, title in rows:
            self.add_row(
                self._badge_text(badge_for(SEVERITY, severity)),
                # Plain `Text`, never a str: DataTable reads a str cell as Rich markup, and a
                # title like "Disk full on [/mnt/train]" would crash the list.
                Text(inc_id),
                Text(age),
                self._badge_text(badge_for(INCIDENT_STATUS, status)),
                Text(asset),
                Text(commander),
                Text(title),
                key=inc_id,
            )

    def _selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return str(key.value) if key.value is not None else None

    def action_open_incident(self) -> None:
        key = self._selected_key()
        if key is not None:
            self.post_message(IncidentSelected(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(IncidentSelected(str(event.row_key.value)))
