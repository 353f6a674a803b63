"""A runbook's steps with their state, each as a symbol and words, the current one marked.

The engine's statuses are finer than a colour can carry (skipped because already done, because
the desired state already holds, or by the operator), so the badge says which in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.widgets.vocabulary import STEP_STATE, Badge, badge_for

FINISHED = frozenset({"done", "skipped", "would_skip", "would_run"})


def step_badge(state: Any, running: bool = False) -> Badge:
    """The badge for an engine `StepState` (or the UI's own 'running')."""
    if running:
        return STEP_STATE["running"]
    status = state.status
    message = (state.message or "").lower()
    if status == "skipped":
        if message.startswith("already done"):
            return STEP_STATE["already-done"]
        if message.startswith("desired state already holds"):
            return STEP_STATE["check-holds"]
        return STEP_STATE["skipped"]
    if status == "would_skip":
        return Badge("↷", "would skip (dry run)", "success")
    if status == "in_doubt":
        return STEP_STATE["in-doubt"]
    if status == "would_run":
        return STEP_STATE["would-run"]
    return badge_for(STEP_STATE, status)


def current_step(states: Sequence[Any]) -> Any | None:
    """The step to work on next: the first not done or skipped (failed and in-doubt included)."""
    for state in states:
        if state.status not in FINISHED:
            return state
    return None


class StepList(OptionList):
    """One option per step: `▸` marks the current one; destructive steps say so."""

    def show(self, states: Sequence[Any], running: str | None = None) -> None:
        current = current_step(states)
        highlighted = self.highlighted
        self.clear_options()
        for number, state in enumerate(states, start=1):
            badge = step_badge(state, running == state.id)
            marker = "▸" if current is not None and state.id == current.id else " "
            parts = [
                Content.from_markup(f"{marker}{number:>2}. [b]$id[/b]\n     ", id=state.id),
                badge.content(),
            ]
            if state.destructive:
                parts.append(Content.from_markup("\n     [$error]⚠ destructive[/]"))
            prompt = Content.assemble(*parts)
            self.add_option(Option(prompt, id=state.id))
        if current is not None:
            self.highlighted = [s.id for s in states].index(current.id)
        elif highlighted is not None and highlighted < self.option_count:
            self.highlighted = highlighted
