"""The app shell: start-up never crashes, problems show in place, help lists the keys."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import settle
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
        await settle(pilot, app)  # a reload may supersede the first load: that one is cancelled
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


def test_two_threads_locating_a_first_run_demo_make_it_once(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On a first run both the app's warm-up and the first screen ask for the workspace; the
    demo is created once and both get it (one of them used to fail half-way)."""
    import threading

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("ONCALL_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    context = AppContext(as_user="ana.lima")
    found: list[object] = []
    errors: list[BaseException] = []

    def locate() -> None:
        try:
            found.append(context.workspace)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=locate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({id(w) for w in found}) == 1


async def test_the_operator_name_is_shown_on_a_first_run_that_creates_the_demo(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.tui.conftest import settle
    from tui.widgets.title_bar import TitleBar

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("ONCALL_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    app = OncallApp(AppContext(as_user="ana.lima"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        bar = str(app.screen.query_one(TitleBar).render())
        assert bar.rstrip().endswith("demo · as ana.lima")
        assert "…" not in bar


async def test_the_theme_chosen_with_t_is_kept_in_the_user_config_dir_for_the_next_start(
    make_app, own_preferences: Path
) -> None:
    from tests.tui.conftest import settle

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert app.current_theme.dark
        await pilot.press("T")  # one key, on any screen
        await pilot.pause()
        assert app.theme == "textual-light"
    assert (own_preferences / "preferences.json").exists()
    again = make_app()
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot, again)
        assert again.theme == "textual-light"  # kept across the restart
