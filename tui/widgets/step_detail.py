"""The current step exactly as it will run: the SQL with its bound values, the HTTP request, the
argv, or the instruction; its check and verify; the assets it changes.

Nothing runs that was not shown here first: the text comes from the same rendering the engine
executes. The step's title and its destructive warning stay pinned at the top; the action below
scrolls (shift+↑↓ from the step list), and each step opens at its top, so arriving at
`delete-partial` shows `⚠ destructive` and the first line of its `DELETE`, not the middle of the
previous step's scroll.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tui.widgets.vocabulary import short_ref

if TYPE_CHECKING:
    from runbooks.engine import RenderedStep, StepState


#: What happens next to a destructive step, by its status: the name is typed only when its
#: check shows work to do, so the head never promises a question that will not come.
DESTRUCTIVE_NEXT = {
    "done": "done",
    "skipped": "skipped: nothing left to do",
    "would_run": "a live run would ask for the name",
    "would_skip": "its check holds: a live run would skip it",
}
DESTRUCTIVE_PENDING = "its check runs first; the name is asked only if it must act"


def step_head(rendered: RenderedStep, state: StepState | None = None) -> Content:
    """The pinned part: title, and what the step changes (in red when it cannot be undone)
    and what will happen to it: checked first, the name asked only if it must act."""
    lines = [Content.from_markup("[b]$id[/b] — $title", id=rendered.id, title=rendered.title)]
    if rendered.destructive:
        assets = ", ".join(short_ref(a) for a in rendered.assets) or "its asset"
        status = state.status if state is not None else "pending"
        lines.append(
            Content.from_markup(
                "[$error]⚠ destructive[/]: changes $assets; $next",
                assets=assets,
                next=DESTRUCTIVE_NEXT.get(status, DESTRUCTIVE_PENDING),
            )
        )
    elif rendered.assets:
        lines.append(
            Content.from_markup(
                "[dim]changes $assets[/]", assets=", ".join(short_ref(a) for a in rendered.assets)
            )
        )
    return Content("\n").join(lines)


def step_body(rendered: RenderedStep, state: StepState | None = None) -> list[tuple[Content, str]]:
    """The scrolling part as (text, kind) blocks: headings, and code shown indented (the indent
    is padding, so a wrapped line keeps it)."""
    blocks: list[tuple[Content, str]] = [
        (Content.from_markup("[b]action[/b]"), "heading"),
        (Content(rendered.action.text), "code"),
    ]
    if rendered.check is not None:
        blocks.append(
            (Content.from_markup("[b]check[/b] [dim](skips the step when it holds)[/]"), "heading")
        )
        blocks.append((Content(rendered.check.text), "code"))
    if rendered.verify is not None:
        blocks.append((Content.from_markup("[b]verify[/b] [dim](after the action)[/]"), "heading"))
        blocks.append((Content(rendered.verify.text), "code"))
    if state is not None and state.message and state.status not in ("pending",):
        blocks.append((Content.from_markup("[b]last result[/b] $m", m=state.message), "heading"))
    return blocks


def step_detail_content(rendered: RenderedStep, state: StepState | None = None) -> Content:
    """Everything as one text (what tests and logs read)."""
    parts = [step_head(rendered, state)]
    for text, kind in step_body(rendered, state):
        parts.append(Content.assemble("  ", text) if kind == "code" else text)
    return Content("\n").join(parts)


def _block_widgets(blocks: list[tuple[Content, str]]) -> list[Static]:
    """Headings as they are; code one line per widget, its own indent as left padding, so a
    long line wraps under itself instead of at the margin."""
    widgets: list[Static] = []
    for text, kind in blocks:
        if kind != "code":
            widgets.append(Static(text, classes="step-heading"))
            continue
        for line in text.plain.splitlines() or [""]:
            stripped = line.lstrip(" ")
            widget = Static(Content(stripped), classes="step-code")
            widget.styles.padding = (0, 0, 0, 2 + len(line) - len(stripped))
            widgets.append(widget)
    return widgets


class StepDetail(Vertical):
    """Pinned head, scrolling body; `show` a rendered step, or `show_text` a message."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._step_id: str | None = None
        self._plain = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="step-head")
        with VerticalScroll(id="step-body", can_focus=False):
            yield Static("", id="step-body-text")
        yield Static("", id="step-scroll-hint")

    @property
    def text(self) -> str:
        """What the detail says now, as plain text."""
        return self._plain

    def show(self, rendered: RenderedStep, state: StepState | None = None) -> None:
        head = self.query_one("#step-head", Static)
        head.update(step_head(rendered, state))
        head.display = True
        blocks = step_body(rendered, state)
        body = self.query_one("#step-body", VerticalScroll)
        body.remove_children()
        body.mount_all(_block_widgets(blocks))
        self._plain = step_detail_content(rendered, state).plain
        self._opened(rendered.id)

    def show_text(self, text: str | Content) -> None:
        content = text if isinstance(text, Content) else Content(text)
        self.query_one("#step-head", Static).display = False
        body = self.query_one("#step-body", VerticalScroll)
        body.remove_children()
        body.mount(Static(content, classes="step-heading"))
        self._plain = content.plain
        self._opened(None)

    def _opened(self, step_id: str | None) -> None:
        """A different step opens at its top; the same one keeps where the operator was."""
        if step_id != self._step_id:
            self._step_id = step_id
            self.call_after_refresh(self._scroll_home)
        self.call_after_refresh(self._update_hint)

    def _scroll_home(self) -> None:
        body = next(self.query("#step-body").results(VerticalScroll), None)
        if body is None:  # the screen closed before this ran
            return
        body.scroll_home(animate=False, immediate=True)
        self._update_hint()

    def on_resize(self) -> None:
        self.call_after_refresh(self._update_hint)

    def scroll_body(self, lines: int) -> None:
        body = self.query_one("#step-body", VerticalScroll)
        body.scroll_relative(y=lines, animate=False, immediate=True)
        self._update_hint()

    def _update_hint(self) -> None:
        hint = next(self.query("#step-scroll-hint").results(Static), None)
        body = next(self.query("#step-body").results(VerticalScroll), None)
        if hint is None or body is None:  # the screen closed (a plan's run, done) before this
            return
        below = max(0, int(body.max_scroll_y - body.scroll_y))
        above = int(body.scroll_y)
        shown = bool(below or above)
        if hint.display != shown:
            # The hint takes a row from the body, which changes what is below: count again
            # once that layout has landed (it settles: the second count shows the same hint).
            self.call_after_refresh(self._update_hint)
        hint.display = shown
        if not shown:
            return
        where = []
        if above:
            where.append(f"{above} above")
        if below:
            where.append(f"{below} more below")
        hint.update(
            Content.from_markup("[dim]shift+↓/↑ scrolls the action · $w[/]", w=", ".join(where))
        )
