"""The incident list: what is open, newest first, and one key to open or start one."""

from __future__ import annotations

from tests.tui.conftest import OPERATOR, settle
from tui.screens.incident import IncidentScreen
from tui.screens.incidents import IncidentsScreen
from tui.widgets.incident_table import IncidentTable


def _cells(table: IncidentTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_open_incidents_are_listed_with_severity_status_and_asset_in_words(
    make_app, open_store
) -> None:
    store = open_store()
    store.open_incident("Partial loads", "resource:default/training-db", "SEV1", actor=OPERATOR)
    store.open_incident("Feed stale", "component:default/pricing-feed", "SEV3", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        rows = _cells(app.screen.query_one(IncidentTable))
        assert [r[1] for r in rows] == ["INC-2", "INC-1"]
        assert rows[1][0] == "▲▲ SEV1"
        assert rows[1][3] == "● open"
        assert rows[1][4] == "training-db"


async def test_resolved_incidents_show_only_after_c(make_app, open_store) -> None:
    store = open_store()
    store.open_incident("Old", "resource:default/training-db", actor=OPERATOR)
    store.set_status("INC-1", "resolved", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(IncidentTable)
        assert table.row_count == 0
        await pilot.press("c")
        await settle(pilot, app)
        assert _cells(table)[0][3] == "✔ resolved"


async def test_enter_opens_the_incident_under_the_cursor(make_app, open_store) -> None:
    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, IncidentScreen)
        assert app.screen.incident_id == "INC-1"
        await pilot.press("escape")
        assert isinstance(app.screen, IncidentsScreen)


async def test_an_incident_opened_elsewhere_appears_without_a_key_press(
    make_app, open_store, monkeypatch
) -> None:
    monkeypatch.setattr(IncidentsScreen, "POLL_SECONDS", 0.3)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(IncidentTable)
        assert table.row_count == 0
        open_store().open_incident("Late", "resource:default/training-db", actor=OPERATOR)
        await pilot.pause(IncidentsScreen.POLL_SECONDS + 0.5)
        await settle(pilot, app)
        assert table.row_count == 1


async def test_the_highlighted_incidents_whole_title_shows_under_the_list_at_80_columns(
    make_app, open_store
) -> None:
    from textual.widgets import Static

    title = "training-db: four partial loads of 2026-12-02 and a model trained on them"
    open_store().open_incident(title, "resource:default/training-db", "SEV1", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        detail = app.screen.query_one("#row-detail", Static)
        assert detail.region.height >= 2  # wraps instead of cutting
        assert title in " ".join(str(detail.render()).split())
