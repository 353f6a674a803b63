"""The whole demo recovery, by key presses only, on a broken demo workspace.

Open INC-1, run training-store-partial-load (typing the asset's name for the destructive step),
roll the model back, and draft the postmortem: what an operator does at 3 AM, checked against
the real databases the runbooks changed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.tui.conftest import settle
from tui.screens.confirm_destructive import ConfirmDestructive
from tui.screens.incident import IncidentScreen
from tui.screens.postmortem import PostmortemScreen
from tui.screens.runbook_run import RunbookRunScreen
from tui.widgets.runbook_list import RunbookList


def _scalar(db: Path, sql: str, *args: object) -> object:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchone()[0]


async def _run_all_steps(pilot, app, *, asset_name: str | None = None) -> RunbookRunScreen:  # type: ignore[no-untyped-def]
    """Press x until the run reports; type the asset's name when a step is destructive."""
    screen = app.screen
    assert isinstance(screen, RunbookRunScreen)
    for _ in range(10):
        if screen.report is not None:
            break
        await pilot.press("x")
        await settle(pilot, app)
        if isinstance(app.screen, ConfirmDestructive):
            assert asset_name is not None
            await pilot.press(*asset_name, "enter")
            await settle(pilot, app)
    assert screen.report is not None
    return screen


async def test_the_demo_recovers_by_key_presses_alone(
    make_app, broken, workspace, open_store
) -> None:
    data = workspace / "data"
    assert _scalar(data / "training.db", "SELECT COUNT(*) FROM loads WHERE status = 'partial'") == 4
    app = make_app(operator="user:default/ana.lima")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")  # INC-1, the only open incident
        await settle(pilot, app)
        assert isinstance(app.screen, IncidentScreen)
        incident = app.screen

        # 1. Recover the training store: its runbook is the first suggestion.
        await pilot.press("3", "r")
        await settle(pilot, app)
        assert isinstance(app.screen, RunbookRunScreen)
        assert app.screen.runbook.id == "training-store-partial-load"
        await pilot.press("ctrl+s")  # every parameter came from the alert
        await settle(pilot, app)
        run = await _run_all_steps(pilot, app, asset_name="training-db")
        assert run.report.status == "done"
        assert [s.status for s in run.report.steps] == ["done"] * 5
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is incident

        # 2. Roll the model trained on the bad loads back: the next suggestion down.
        runbooks = incident.query_one(RunbookList)
        await pilot.press("3")
        keys = [runbooks.get_option_at_index(i).id for i in range(runbooks.option_count)]
        target = keys.index("model-rollback@component:default/demand-forecast")
        runbooks.highlighted = target
        await pilot.press("r")
        await settle(pilot, app)
        assert isinstance(app.screen, RunbookRunScreen)
        assert app.screen.runbook.id == "model-rollback"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        run = await _run_all_steps(pilot, app)
        assert run.report.status == "done"
        await pilot.press("escape")
        await settle(pilot, app)

        # 3. The harm has stopped; draft the postmortem and save it.
        await pilot.press("m", "y")  # asked first: "Mark mitigated INC-1?"
        await settle(pilot, app)
        await pilot.press("P")
        await settle(pilot, app)
        assert isinstance(app.screen, PostmortemScreen)
        await pilot.press("s")
        await settle(pilot, app)
        saved = app.screen.saved
        assert saved is not None

    # The databases say the recovery happened, exactly once.
    assert _scalar(data / "training.db", "SELECT COUNT(*) FROM loads WHERE status = 'partial'") == 0
    assert (
        _scalar(
            data / "training.db",
            "SELECT COUNT(*) FROM loads WHERE day = ? AND status = 'complete'",
            broken.day,
        )
        == 1
    )
    champion = _scalar(
        data / "registry.db",
        "SELECT version FROM aliases WHERE model = 'demand-forecast' AND alias = 'champion'",
    )
    assert champion != broken.bad_model_version
    assert (
        _scalar(
            data / "registry.db",
            "SELECT status FROM model_versions WHERE model = 'demand-forecast' AND version = ?",
            broken.bad_model_version,
        )
        == "quarantined"
    )
    store = open_store()
    assert store.get_incident("INC-1").status == "mitigated"
    assert [r.status for r in store.list_runs(incident_id="INC-1")] == ["done", "done"]
    assert store.verify("INC-1").ok
    text = saved.path.read_text(encoding="utf-8")
    assert "training-store-partial-load" in text
    assert "model-rollback" in text
