"""The postmortem draft, rendered as the reader will see it; save writes the markdown file.

The draft is generated from the timeline, the runs and the graph each time the screen opens
(or on ctrl+r), so it always reflects the latest events. Saving never overwrites a file a human
has edited: the writer picks the next free `-N` name and the screen says where it went.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.widgets import Footer, MarkdownViewer, Static

from tui.backend import PostmortemPreview, SavedPostmortem
from tui.problems import Problem, explain
from tui.screens.base import OncallScreen
from tui.widgets.narrow_markdown import tables_as_lists
from tui.widgets.notice import Notice
from tui.widgets.title_bar import TitleBar

#: From this width the draft's tables are shown as tables (below, as lists).
WIDE_COLUMNS = 120


class PostmortemScreen(OncallScreen[None]):
    """Preview of the draft for one incident; `s` saves it into the workspace."""

    BINDINGS = [
        Binding("s", "save", "Save draft"),
        Binding("ctrl+r", "regenerate", "Regenerate"),
    ]

    class Generated(Message):
        def __init__(self, preview: PostmortemPreview | None, problem: Problem | None) -> None:
            super().__init__()
            self.preview = preview
            self.problem = problem

    class Saved(Message):
        def __init__(self, saved: SavedPostmortem | None, problem: Problem | None) -> None:
            super().__init__()
            self.saved = saved
            self.problem = problem

    def __init__(self, incident_id: str) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.preview: PostmortemPreview | None = None
        self.saved: SavedPostmortem | None = None
        self._shown_narrow = False

    def compose(self) -> ComposeResult:
        yield TitleBar(f"Postmortem draft for {self.incident_id}")
        yield Notice(id="notice")
        yield Static("Writing the draft from the timeline…", id="postmortem-status")
        yield MarkdownViewer("", show_table_of_contents=False, id="postmortem")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.generate()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return True if self.preview is not None else None
        return super().check_action(action, parameters)

    def action_regenerate(self) -> None:
        self.query_one("#postmortem-status", Static).update("Writing the draft from the timeline…")
        self.generate()

    @work(thread=True, exclusive=True, group="postmortem")
    def generate(self) -> None:
        try:
            preview = self.backend.postmortem_preview(self.incident_id)
        except Exception as exc:
            self.post_message(self.Generated(None, explain(exc)))
            return
        self.post_message(self.Generated(preview, None))

    @on(Generated)
    async def _generated(self, message: Generated) -> None:
        status = self.query_one("#postmortem-status", Static)
        if message.preview is None:
            assert message.problem is not None
            self.query_one(Notice).show_problem(message.problem)
            status.update("No draft: see above.")
            return
        self.preview = message.preview
        self.query_one(Notice).clear()
        status.update(
            Content(f"Draft, not saved yet · s saves it as postmortems/{message.preview.filename}")
        )
        await self._show_document()
        self.refresh_bindings()
        self.query_one(MarkdownViewer).focus()

    async def _show_document(self) -> None:
        """The draft as markdown; below `WIDE_COLUMNS` its tables read as lists (every value
        whole, wrapped), while the file keeps its tables."""
        if self.preview is None:
            return
        narrow = self.app.size.width < WIDE_COLUMNS
        self._shown_narrow = narrow
        text = tables_as_lists(self.preview.markdown) if narrow else self.preview.markdown
        await self.query_one(MarkdownViewer).document.update(text)

    async def on_resize(self, event: Resize) -> None:
        if self.preview is not None and (event.size.width < WIDE_COLUMNS) != self._shown_narrow:
            await self._show_document()

    def action_save(self) -> None:
        if self.preview is not None:
            self.save(self.preview)

    @work(thread=True, exclusive=True, group="postmortem-save")
    def save(self, preview: PostmortemPreview) -> None:
        try:
            saved = self.backend.save_postmortem(self.incident_id, preview)
        except Exception as exc:
            self.post_message(self.Saved(None, explain(exc)))
            return
        self.post_message(self.Saved(saved, None))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        if message.saved is None:
            assert message.problem is not None
            self.query_one(Notice).show_problem(message.problem)
            return
        self.saved = message.saved
        how = {
            "created": "Saved",
            "replaced-draft": "Saved over the untouched earlier draft",
            "forced": "Saved (overwritten)",
        }.get(message.saved.action, "Saved")
        self.query_one(Notice).show_info(
            f"✔ {how}: {message.saved.shown_as} — edit it there; saving again never "
            "overwrites your edits."
        )
        self.query_one("#postmortem-status", Static).update(
            Content(f"Saved as {message.saved.shown_as}")
        )
