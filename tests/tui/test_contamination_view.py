"""The incident screen after `demo break`: Contaminated and Downstream-clean instead of the
blast-radius tree, and `c` opens the recovery plan, whose steps open the runbook run screen."""

from __future__ import annotations

from tests.tui.conftest import settle
from tui.screens.incident import IncidentScreen
from tui.screens.plan import PlanScreen
from tui.screens.runbook_run import RunbookRunScreen
from tui.widgets.contamination import ContaminationView
from tui.widgets.dependency_tree import DependencyTree


async def _open(app, pilot) -> IncidentScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    app.open_incident("INC-1")
    await settle(pilot, app)
    await settle(pilot, app)
    assert isinstance(app.screen, IncidentScreen)
    return app.screen


def _text(view: ContaminationView) -> str:
    from rich.console import Console

    console = Console(width=160, record=True)
    console.print(view.tables)
    return console.export_text()


async def test_the_incident_shows_what_read_the_bad_data_and_what_is_merely_downstream(
    make_app, broken
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        view = screen.query_one(ContaminationView)
        assert view.display and not screen.query_one(DependencyTree).display
        text = _text(view)
        contaminated, clean = text.split("Downstream, clean (7)")
        assert "Contaminated (4)" in contaminated
        for name in ("training-db", "demand-forecast", "pricing-feed", "tax-feed"):
            assert name in contaminated
        assert "reorder-recommender " in clean and "before the window" in clean
        assert "reorder-recommender " not in contaminated
        title = str(screen.query_one("#impact-panel").border_title)
        assert title.startswith("Contaminated (4) · Downstream, clean (7)")


async def test_c_opens_the_plan_and_enter_opens_the_first_runbook(make_app, broken) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await _open(app, pilot)
        await pilot.press("c")
        await settle(pilot, app)
        assert isinstance(app.screen, PlanScreen)
        assert [s.runbook for s in app.screen.plan.steps] == [
            "training-store-partial-load",
            "model-rollback",
            "feed-backout",
            "feed-backout",
        ]
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, RunbookRunScreen)
        assert app.screen.runbook_id == "training-store-partial-load"


async def test_without_run_history_the_tree_stays(make_app, open_store) -> None:
    open_store().open_incident("Partial loads", "resource:default/training-db", actor="ana.lima")
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot)
        assert screen.query_one(DependencyTree).display
        assert not screen.query_one(ContaminationView).display
        assert screen.plan is None
