"""Opening an incident from the list: fuzzy-pick the asset, give a title, land on the incident."""

from __future__ import annotations

from textual.widgets import Static

from tests.tui.conftest import OPERATOR, settle
from tui.screens.incident import IncidentScreen
from tui.screens.incidents import IncidentsScreen
from tui.screens.new_incident import NewIncidentScreen


async def test_o_then_a_fuzzy_name_and_a_title_opens_an_incident_on_that_asset(
    make_app, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("o")
        assert isinstance(app.screen, NewIncidentScreen)
        await pilot.press(*"trainig-db")  # a typo still finds it
        await settle(pilot, app)
        await pilot.press("enter")
        await pilot.press(*"Loads", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, IncidentScreen)
        incident = open_store().get_incident("INC-1")
        assert incident.asset == "resource:default/training-db"
        assert incident.title == "Loads"
        assert incident.severity == "SEV2"
        events = open_store().events("INC-1")
        assert events[0].actor == OPERATOR


async def test_the_form_refuses_to_open_without_a_title_and_says_why(make_app, open_store) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("o", *"training-db")
        await settle(pilot, app)
        await pilot.press("enter", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, NewIncidentScreen)
        assert "give a title" in str(app.screen.query_one("#form-error", Static).render())
        assert open_store().list_incidents() == []


async def test_people_are_not_offered_as_assets_and_escape_cancels(make_app, open_store) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("o", *"team-ml")
        await settle(pilot, app)
        from textual.widgets import OptionList

        options = app.screen.query_one("#asset-matches", OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert "group:default/team-ml" not in ids
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, IncidentsScreen)
        assert open_store().list_incidents() == []


async def test_a_second_incident_on_the_same_asset_warns_and_offers_the_open_one(
    make_app, open_store
) -> None:
    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("o", *"training-db")
        await settle(pilot, app)
        await pilot.press("enter", *"Loads again", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, NewIncidentScreen)
        said = str(app.screen.query_one("#form-error", Static).render())
        assert "INC-1 is already open on training-db (Partial loads)" in said
        assert len(open_store().list_incidents()) == 1
        await pilot.press("ctrl+o")  # the open one, instead of a duplicate
        await settle(pilot, app)
        assert isinstance(app.screen, IncidentScreen) and app.screen.incident_id == "INC-1"
        await pilot.press("escape")
        await pilot.press("o", *"training-db")
        await settle(pilot, app)
        await pilot.press("enter", *"Disk full", "enter")
        await settle(pilot, app)
        await pilot.press("ctrl+s")  # warned, and asked again: a second one is opened
        await settle(pilot, app)
        assert isinstance(app.screen, IncidentScreen) and app.screen.incident_id == "INC-2"
    assert len(open_store().list_incidents()) == 2
