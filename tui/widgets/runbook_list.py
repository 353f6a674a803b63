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


def runbook_label(entry: Any, show_asset: bool) -> Content:
    badge = "[$success]✔ vetted[/]  " if entry.vetted else "[$warning]⚠ unvetted[/]"
    target = ""
    if show_asset and entry.asset:
        where = (
            "the asset"
            if not entry.hops
            else f"{entry.hops} hop{'s' if entry.hops > 1 else ''} down"
        )
        target = f" → {entry.asset.rpartition('/')[2]} ({where})"
    return Content.from_markup(
        f"{badge} [b]$id[/b] [dim]v$version$target[/]\n    $title",
        id=entry.id,
        version=str(entry.version),
        target=target,
        title=entry.title,
    )


class RunbookList(OptionList):
    """Posts `RunbookList.Chosen` with the runbook id when one is selected."""

    class Chosen(Message):
        def __init__(self, runbook_id: str, asset: str | None) -> None:
            super().__init__()
            self.runbook_id = runbook_id
            self.asset = asset

    class ResumeChosen(Message):
        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    def show(
        self, entries: Sequence[Any], problem: Problem | None = None, runs: Sequence[Any] = ()
    ) -> None:
        highlighted = self.highlighted
        self.clear_options()
        self._add_runs(runs)
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
        show_asset = any(e.hops for e in entries)
        self.add_options(Option(runbook_label(e, show_asset), id=e.key) for e in entries)
        keep = highlighted is not None and highlighted < self.option_count
        # The first option by default: an unfinished run (resuming beats starting over), else
        # the first suggestion.
        self.highlighted = highlighted if keep else 0

    def _add_runs(self, runs: Sequence[Any]) -> None:
        """Runs of this incident that can be resumed come first: finishing one beats starting."""
        for run in runs:
            if run.status in ("done",) or run.dry_run:
                continue
            self.add_option(
                Option(
                    Content.from_markup(
                        "[$warning]↻ resume[/] [b]$id[/b] $runbook [dim]($status, by $who)[/]",
                        id=run.id,
                        runbook=run.runbook_id,
                        status=run.status,
                        who=run.operator.rpartition("/")[2],
                    ),
                    id=f"run:{run.id}",
                )
            )

    @property
    def highlighted_runbook(self) -> str | None:
        """The runbook id (or `run:RUN-n`) under the cursor."""
        if self.highlighted is None:
            return None
        return self.get_option_at_index(self.highlighted).id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id
        if not option_id:
            return
        if option_id.startswith("run:"):
            self.post_message(self.ResumeChosen(option_id.removeprefix("run:")))
        else:
            runbook_id, _, asset = option_id.partition("@")
            self.post_message(self.Chosen(runbook_id, asset or None))
