"""Runbooks that apply to an asset, vetted ones first; choosing one starts a run.

An unvetted runbook (its file changed since review) is still listed — the operator may read
and dry-run it — but it says so in words, not only in colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.problems import Problem


def runbook_label(entry: Any) -> Content:
    badge = "[$success]✔ vetted[/]  " if entry.vetted else "[$warning]⚠ unvetted[/]"
    return Content.from_markup(
        f"{badge} [b]$id[/b] [dim]v$version[/]\n    $title",
        id=entry.id,
        version=str(entry.version),
        title=entry.title,
    )


class RunbookList(OptionList):
    """Posts `RunbookList.Chosen` with the runbook id when one is selected."""

    class Chosen(Message):
        def __init__(self, runbook_id: str) -> None:
            super().__init__()
            self.runbook_id = runbook_id

    def show(self, entries: Sequence[Any], problem: Problem | None = None) -> None:
        self.clear_options()
        if problem is not None:
            self.add_option(
                Option(
                    Content.from_markup(
                        "[$error]✖ Runbooks unavailable:[/] $m\n    $n",
                        m=problem.message,
                        n=problem.next_step,
                    ),
                    disabled=True,
                )
            )
            return
        if not entries:
            self.add_option(
                Option("No runbook applies to this asset (by id, type or tag).", disabled=True)
            )
            return
        ordered = sorted(entries, key=lambda e: (not e.vetted, e.id))
        self.add_options(Option(runbook_label(e), id=e.id) for e in ordered)
        self.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Chosen(event.option.id))
