"""The incident's impact as the run history tells it: *Contaminated* (what did read the bad
data, with the versions it wrote) and *Downstream, clean* (what could have, and why it did not).

Shown on the incident screen in place of the structural blast-radius tree whenever the incident
says since when its asset was bad and there is run history to replay (`graph.contamination`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.widgets.vocabulary import short_ref

if TYPE_CHECKING:
    from graph.contamination import Contamination


class ContaminationView(Static):
    """Two small tables, each row with its owner; `show` replaces them."""

    tables: Group | None = None

    def show(self, analysis: Contamination) -> None:
        bad = Table(title=f"Contaminated ({len(analysis.contaminated)})", expand=True, box=None)
        for column in ("asset", "hops", "versions", "owner"):
            bad.add_column(column, no_wrap=column != "versions")
        for item in analysis.contaminated:
            bad.add_row(
                short_ref(item.ref),
                str(item.hops),
                ", ".join(item.versions) or "-",
                short_ref(item.owner) if item.owner else "(no owner)",
            )
        clean = Table(title=f"Downstream, clean ({len(analysis.clean)})", expand=True, box=None)
        for column in ("asset", "owner", "why clean"):
            clean.add_column(column, no_wrap=column != "why clean")
        for entry in analysis.clean:
            clean.add_row(
                short_ref(entry.ref),
                short_ref(entry.owner) if entry.owner else "(no owner)",
                Text(entry.reason),
            )
        self.tables = Group(bad, Text(""), clean)
        self.update(self.tables)
