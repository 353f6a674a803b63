"""The current step exactly as it will run: the SQL with its bound values, the HTTP request, the
argv, or the instruction; its check and verify; the assets it changes.

Nothing runs that was not shown here first: the text comes from the same rendering the engine
executes.
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from tui.widgets.vocabulary import short_ref


def step_detail_content(rendered: Any, state: Any | None = None) -> Content:
    lines = [Content.from_markup("[b]$id[/b] — $title", id=rendered.id, title=rendered.title)]
    if rendered.destructive:
        assets = ", ".join(short_ref(a) for a in rendered.assets) or "its asset"
        lines.append(
            Content.from_markup(
                "[$error]⚠ destructive[/]: changes $assets; you will type the name to confirm",
                assets=assets,
            )
        )
    elif rendered.assets:
        lines.append(
            Content.from_markup(
                "[dim]changes $assets[/]", assets=", ".join(short_ref(a) for a in rendered.assets)
            )
        )
    lines.append(Content.from_markup("[b]action[/b]"))
    lines.append(Content(_indent(rendered.action.text)))
    if rendered.check is not None:
        lines.append(Content.from_markup("[b]check[/b] [dim](skips the step when it holds)[/]"))
        lines.append(Content(_indent(rendered.check.text)))
    if rendered.verify is not None:
        lines.append(Content.from_markup("[b]verify[/b] [dim](after the action)[/]"))
        lines.append(Content(_indent(rendered.verify.text)))
    if state is not None and state.message and state.status not in ("pending",):
        lines.append(Content.from_markup("[b]last result[/b] $m", m=state.message))
    return Content("\n").join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


class StepDetail(Static):
    """Shows `step_detail_content`, or why the step cannot be shown yet."""

    def show(self, rendered: Any, state: Any | None = None) -> None:
        self.update(step_detail_content(rendered, state))

    def show_text(self, text: str | Content) -> None:
        self.update(text)
