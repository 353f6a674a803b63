"""Runbooks that apply to an asset, vetted ones first; choosing one starts a run.

An unvetted runbook (its file changed since review) is still listed — the operator may read
and dry-run it — but it says so in words, not only in colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from tui.problems import Problem

if TYPE_CHECKING:
    from runbooks.history import RunRecord


PROGRESS_MARKS = {
    "done": "[$success]✔ done[/]    ",
    "partial": "[$warning]◐ partial[/] ",
}


def runbook_label(entry: Any, show_asset: bool, progress: str | None = None) -> Content:
    badge = "[$success]✔ vetted[/]  " if entry.vetted else "[$warning]⚠ unvetted[/]"
    if progress and entry.vetted:  # done or partial says more than vetted (it had to be)
        badge = PROGRESS_MARKS[progress]
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
        self,
        entries: Sequence[Any],
        problem: Problem | None = None,
        runs: Sequence[RunRecord] = (),
    ) -> None:
        """Resumable runs first, then the suggestions marked ✔ done / ◐ partial for their asset.
        The highlight stays on the same item when rows come or go above it."""
        kept = self.highlighted_runbook
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
        from runbooks.history import progress

        show_asset = any(e.hops for e in entries)
        marks = {e.key: progress(runs, e.id, e.asset) for e in entries}
        self.add_options(
            Option(runbook_label(e, show_asset, marks[e.key]), id=e.key) for e in entries
        )
        # The same item as before; but when the run just finished made it done, the next
        # suggestion not done yet (the next step of the recovery is one `r` away). Else the
        # first: an unfinished run (resuming beats starting over), else the first suggestion.
        if kept is not None and marks.get(kept) == "done" and kept not in self._done:
            kept = next(
                (
                    e.key
                    for e in entries[[x.key for x in entries].index(kept) :]
                    if not marks[e.key]
                ),
                kept,
            )
        self._done = {key for key, mark in marks.items() if mark == "done"}
        index = self._index_of(kept)
        self.highlighted = index if index is not None else 0

    def _index_of(self, option_id: str | None) -> int | None:
        if option_id is None:
            return None
        try:
            return self.get_option_index(option_id)
        except OptionDoesNotExist:  # the item is gone
            return None

    def _add_runs(self, runs: Sequence[RunRecord]) -> None:
        """Runs of this incident that can be resumed come first: finishing one beats starting.
        A start refused before its first step is not one of them (nothing to resume)."""
        for record in runs:
            if not record.resumable:
                continue
            run = record.run
            self.add_option(
                Option(
                    Content.from_markup(
                        "[$warning]↻ resume[/] [b]$id[/b] $runbook [dim]($status, by $who; "
                        "A abandons)[/]",
                        id=run.id,
                        runbook=run.runbook_id,
                        status=run.status,
                        who=run.operator.rpartition("/")[2],
                    ),
                    id=f"run:{run.id}",
                )
            )

    _done: set[str] = set()  # suggestions marked done at the last show

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
