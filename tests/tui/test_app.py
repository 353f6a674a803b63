"""The app shell: start-up never crashes, problems show in place, help lists the keys."""

from __future__ import annotations

from pathlib import Path

from tui.app import OncallApp
from tui.context import AppContext
from tui.screens.help import HelpScreen
from tui.screens.incidents import IncidentsScreen
from tui.widgets.notice import Notice


async def test_a_missing_workspace_is_explained_on_the_incident_list_not_raised(
    tmp_path: Path,
) -> None:
    app = OncallApp(AppContext(workspace_arg=tmp_path / "nowhere", as_user="user:default/x"))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, IncidentsScreen)
        notice = app.screen.query_one(Notice)
        assert notice.is_showing
        text = str(notice.render())
        assert "workspace directory does not exist" in text
        assert "Next:" in text


async def test_question_mark_opens_help_listing_the_keys_and_escape_returns(
    tmp_path: Path,
) -> None:
    app = OncallApp(AppContext(workspace_arg=tmp_path / "nowhere", as_user="user:default/x"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, IncidentsScreen)
