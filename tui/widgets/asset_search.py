"""Type-to-search over every asset: fuzzy, instant, never blocking the keyboard.

Each keystroke starts a search in a thread worker; a newer keystroke cancels the older search
(its results are dropped), so at 100k assets typing stays smooth and the list shows the answer
to what is in the box, not to what was there a moment ago.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tui.messages import AssetHighlighted, AssetSelected, AssetsNotFound
from tui.problems import Problem, explain

SEARCH_LIMIT = 50


def hit_content(hit: Any, two_lines: bool) -> Content:
    """`name` in bold, then its kind/type and title: enough to tell look-alikes apart.

    In a narrow column the details go on a second line, so nothing wraps mid-word.
    """
    kind = f"{hit.kind}·{hit.type}" if hit.type else hit.kind
    title = f" {hit.title}" if hit.title and hit.title != hit.name else ""
    if two_lines:
        layout = "[b]$name[/b]\n  [dim]$kind$title[/]"
    else:
        layout = "[b]$name[/b] [dim]$kind[/]$title"
    return Content.from_markup(layout, name=hit.name, kind=kind, title=title)


class AssetSearch(Vertical):
    """An input and the ranked matches under it; posts `AssetHighlighted` and `AssetSelected`."""

    BINDINGS = [
        Binding("down", "cursor_down", "Next match", show=False),
        Binding("up", "cursor_up", "Previous match", show=False),
    ]

    class Results(Message):
        def __init__(self, query: str, matches: list[Any], problem: Problem | None) -> None:
            super().__init__()
            self.query = query
            self.matches = matches
            self.problem = problem

    def __init__(
        self,
        *,
        placeholder: str = "Search assets: name, title or tag…",
        initial: str = "",
        assets_only: bool = False,
        compact: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.compact = compact
        self.assets_only = assets_only
        self.placeholder = placeholder
        self.initial = initial
        self.selected_ref: str | None = None

    def compose(self) -> ComposeResult:
        yield Input(
            value=self.initial, placeholder=self.placeholder, compact=self.compact, id="asset-query"
        )
        yield OptionList(id="asset-matches")

    def on_mount(self) -> None:
        self.search(self.initial)

    @property
    def query_text(self) -> str:
        return self.query_one("#asset-query", Input).value

    @on(Input.Changed, "#asset-query")
    def _query_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.search(event.value)

    @work(thread=True, exclusive=True, group="asset-search")
    def search(self, text: str) -> None:
        worker = get_current_worker()
        backend = self.app.backend  # type: ignore[attr-defined]
        try:
            matches = (
                backend.find_assets(text, limit=SEARCH_LIMIT, assets_only=self.assets_only)
                if text.strip()
                else []
            )
            problem = None
        except Exception as exc:
            matches, problem = [], explain(exc)
        if not worker.is_cancelled:
            self.post_message(self.Results(text, matches, problem))

    @on(Results)
    def _show_results(self, message: Results) -> None:
        message.stop()
        if message.query != self.query_text:
            return  # stale: a newer search is on its way
        options = self.query_one("#asset-matches", OptionList)
        options.clear_options()
        if message.problem is not None:
            options.add_option(
                Option(
                    Content.from_markup("[$error]✖ $m[/]", m=message.problem.message), disabled=True
                )
            )
            return
        if not message.query.strip():
            options.add_option(Option("Type to search the catalog.", disabled=True))
            return
        if not message.matches:
            self.post_message(AssetsNotFound(message.query))
            options.add_option(
                Option(
                    Content.from_markup("No asset matches [b]$q[/b].", q=message.query),
                    disabled=True,
                )
            )
            return
        two_lines = self.size.width < 50
        options.add_options(Option(hit_content(m, two_lines), id=m.ref) for m in message.matches)
        options.highlighted = 0

    @on(OptionList.OptionHighlighted, "#asset-matches")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id:
            self.post_message(AssetHighlighted(event.option.id))

    @on(OptionList.OptionSelected, "#asset-matches")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.selected_ref = event.option.id
            self.post_message(AssetSelected(event.option.id))

    @on(Input.Submitted, "#asset-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#asset-matches", OptionList)
        if options.highlighted is None:
            return
        option = options.get_option_at_index(options.highlighted)
        if option.id:
            self.selected_ref = option.id
            self.post_message(AssetSelected(option.id))

    def action_cursor_down(self) -> None:
        self.query_one("#asset-matches", OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#asset-matches", OptionList).action_cursor_up()

    def focus_input(self) -> None:
        self.query_one("#asset-query", Input).focus()
