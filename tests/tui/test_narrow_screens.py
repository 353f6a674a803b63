"""The app at 80x24: the incident screen's footer shows every key it lists in full (the others
are first in help), and the postmortem draft's tables read as lists instead of `Ho…`/`Machi…`
(the saved file keeps its tables)."""

from __future__ import annotations

from textual.widgets import Footer, MarkdownViewer, Static
from textual.widgets._footer import FooterKey
from textual.widgets._markdown import MarkdownTable

from tests.tui.conftest import settle
from tui.screens.help import HelpScreen
from tui.screens.incident import IncidentScreen
from tui.screens.postmortem import PostmortemScreen
from tui.widgets.narrow_markdown import tables_as_lists


async def test_at_80_columns_every_incident_key_is_whole_in_the_footer_or_first_in_help(
    make_app, broken
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, IncidentScreen) and screen.plan is not None
        keys = list(screen.query_one(Footer).query(FooterKey))
        for key in keys:  # drawn whole: not cut at the right edge
            assert key.region.right <= 80, f"{key.key_display} {key.description} is cut"
        in_footer = {key.key_display for key in keys}
        assert {"a", "n", "p", "r", "m", "c", "?", "g", "esc"} <= in_footer
        hidden = {
            b.key_display or b.key
            for b in IncidentScreen.BINDINGS
            if not b.show and b.key_display not in in_footer  # type: ignore[union-attr]
        }
        await pilot.press("question_mark")
        await settle(pilot, app)
        assert isinstance(app.screen, HelpScreen)
        lines = str(app.screen.query_one("#help-keys", Static).render()).splitlines()
        here = lines[: lines.index("Everywhere")]
        listed = {line.split()[0] for line in here[1:] if line.strip()}
        assert {"P", "R", "C", "A"} <= hidden
        assert hidden <= listed, hidden - listed


async def _postmortem(app, pilot) -> PostmortemScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    app.open_postmortem("INC-1")
    await settle(pilot, app)
    await settle(pilot, app)
    assert isinstance(app.screen, PostmortemScreen) and app.screen.preview is not None
    return app.screen


async def test_postmortem_tables_read_as_lists_at_80_columns_and_as_tables_when_wide(
    make_app, broken
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _postmortem(app, pilot)
        viewer = screen.query_one(MarkdownViewer)
        assert not viewer.query(MarkdownTable)
        text = "\n".join(
            str(block._content)
            for block in viewer.document.query("*")
            if hasattr(block, "_content")
        )
        assert "Hops: 1 · Owner: Machine Learning" in text
        await pilot.resize_terminal(160, 48)
        await settle(pilot, app)
        assert viewer.query(MarkdownTable)  # wide: the tables as the file has them
        await pilot.press("s")
        await settle(pilot, app)
        assert screen.saved is not None
        assert "| Asset | Hops | Owner |" in screen.saved.path.read_text(encoding="utf-8")


def test_tables_become_one_item_per_row_named_by_their_headers() -> None:
    markdown = (
        "Intro\n\n"
        "| Field | Value |\n|---|---|\n| Incident | INC-1 |\n| Title | a \\| b |\n\n"
        "| Asset | Hops | Owner | Versions |\n|---|---:|---|---|\n"
        "| `resource:default/training-db` | 0 | Data | - |\n"
        "after\n"
    )
    assert tables_as_lists(markdown) == (
        "Intro\n\n"
        "- **Incident**: INC-1\n- **Title**: a \\| b\n\n"
        "- **`resource:default/training-db`** — Hops: 0 · Owner: Data\n"
        "after\n"
    )
    assert tables_as_lists("no | table here\n") == "no | table here\n"
