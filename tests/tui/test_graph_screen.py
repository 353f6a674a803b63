"""Owner lookup: type a name, read who owns it and who is on call now; palette search too."""

from __future__ import annotations

from textual.widgets import OptionList, Static

from tests.tui.conftest import settle, type_text
from tui.screens.graph import GraphScreen
from tui.screens.incidents import IncidentsScreen
from tui.screens.new_incident import NewIncidentScreen
from tui.widgets.dependency_tree import DependencyTree
from tui.widgets.ownership import OwnershipPanel
from tui.widgets.runbook_list import RunbookList


async def test_typing_a_model_name_shows_its_owner_on_call_and_escalation(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("g")
        assert isinstance(app.screen, GraphScreen)
        await pilot.press(*"demand-forecast")
        await settle(pilot, app)
        screen = app.screen
        assert screen.current_ref == "component:default/demand-forecast"
        text = str(screen.query_one(OwnershipPanel).render())
        assert "Owner      team-ml" in text
        assert "On call    ☎" in text
        assert "Escalation" in text
        assert "Members" in text


async def test_trees_and_runbooks_follow_the_selected_asset(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("g")
        await type_text(pilot, "training-db")
        await settle(pilot, app)
        screen = app.screen
        down = screen.query_one("#downstream-tree", DependencyTree)
        up = screen.query_one("#upstream-tree", DependencyTree)
        assert down.index is not None and "component:default/demand-forecast" in down.index.reached
        assert up.index is not None and "component:default/nightly-etl" in up.index.reached
        runbooks = screen.query_one(RunbookList)
        ids = [runbooks.get_option_at_index(i).id for i in range(runbooks.option_count)]
        assert ids == ["training-store-partial-load@resource:default/training-db"]
        # Selecting a node says how the asset reaches it.
        down.select_node(down.root.children[0])
        await pilot.pause()
        path = str(screen.query_one("#downstream-path", Static).render())
        assert path.startswith("training-db → ")


async def test_ctrl_o_opens_an_incident_on_the_asset_being_looked_at(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("g")
        await type_text(pilot, "pricing-feed")
        await settle(pilot, app)
        await pilot.press("ctrl+o")
        await settle(pilot, app)
        assert isinstance(app.screen, NewIncidentScreen)
        assert app.screen.asset_ref == "component:default/pricing-feed"


async def test_an_unknown_name_says_nothing_matches(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("g")
        await type_text(pilot, "zzqqxx")
        await settle(pilot, app)
        options = app.screen.query_one("#asset-matches", OptionList)
        assert "No asset matches" in str(options.get_option_at_index(0).prompt)


async def test_the_command_palette_finds_assets_and_opens_their_owners(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.press(*"tax-feed")
        await pilot.pause(0.5)
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, GraphScreen)
        assert app.screen.current_ref == "component:default/tax-feed"
        await pilot.press("escape")
        assert isinstance(app.screen, IncidentsScreen)


async def test_a_search_that_matches_nothing_does_not_keep_the_last_assets_owners(
    make_app,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("g")
        await type_text(pilot, "demand-forecast")
        await settle(pilot, app)
        screen = app.screen
        assert screen.current_ref == "component:default/demand-forecast"
        await type_text(pilot, "zzqqxx")
        await settle(pilot, app)
        assert screen.current_ref is None
        text = str(screen.query_one(OwnershipPanel).render())
        assert "No asset matches demand-forecastzzqqxx" in text
        assert "team-ml" not in text
        assert screen.check_action("open_incident", ()) is False


async def test_an_openlineage_name_pasted_as_openlineage_writes_it_finds_the_dataset(
    make_app, workspace
) -> None:
    """Whole (`namespace/name`), as namespace and name apart, as the event's JSON, or a job's
    name: the owner lookup lands on the entity, as `oncall owner` resolves it (graph.olnames)."""
    import shutil
    from pathlib import Path

    from graph.olnames import lineage_ref

    fixture = Path(__file__).parents[1] / "fixtures/external/openlineage-dbt/build_ol_events.json"
    (workspace / "lineage").mkdir(exist_ok=True)
    shutil.copy(fixture, workspace / "lineage" / "dbt.json")
    toml = workspace / "oncall.toml"
    toml.write_text(toml.read_text().replace("lineage = []", 'lineage = ["lineage"]'))
    dataset = lineage_ref("dataset", "postgres://postgres:5432", "postgres.public.raw_orders")
    job = lineage_ref("job", "dbt-test-namespace", "model.jaffle_shop.customers")
    pasted = [
        ("postgres://postgres:5432/postgres.public.raw_orders", dataset),
        ("postgres://postgres:5432\tpostgres.public.raw_orders", dataset),
        (
            '{"namespace": "postgres://postgres:5432", "name": "postgres.public.raw_orders"}',
            dataset,
        ),
        ("dbt-test-namespace/model.jaffle_shop.customers", job),
        ("model.jaffle_shop.customers", job),
    ]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        for text, ref in pasted:
            await pilot.press("g")
            assert isinstance(app.screen, GraphScreen)
            await type_text(pilot, text)
            await settle(pilot, app)
            assert app.screen.current_ref == ref, text
            await pilot.press("escape")
            await settle(pilot, app)
