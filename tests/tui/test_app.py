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


async def test_an_unreachable_database_is_explained_in_place_and_retried(tmp_path: Path) -> None:
    from tests.tui.conftest import settle

    root = tmp_path / "ws"
    root.mkdir()
    (root / "oncall.toml").write_text(
        'name = "far"\nallow_impersonation = true\n'
        'database_url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"\n',
        encoding="utf-8",
    )
    app = OncallApp(AppContext(workspace_arg=root, as_user="user:default/x"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        notice = app.screen.query_one(Notice)
        text = str(notice.render())
        assert "✖ Error:" in text
        assert "127.0.0.1" in text or "connect" in text.lower()
        assert "retries on its own" in text
        assert isinstance(app.screen, IncidentsScreen)
