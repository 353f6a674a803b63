"""Small items of issue #15 not covered elsewhere: a page's outcome does not keep rows of an
80x24 screen for long (it is on the timeline), a runbook description's `code` reads without
its backticks, and a key the incident screen cannot act on yet says why."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tests.tui.conftest import settle
from tests.tui.test_incident_screen import _open
from tui.screens.runbook_run import RunbookRunScreen
from tui.widgets.notice import Notice


async def test_a_pages_outcome_clears_itself_and_stays_on_the_timeline(
    make_app, broken, open_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tui.screens.incident as incident_screen

    monkeypatch.setattr(incident_screen, "PAGE_NOTICE_SECONDS", 0.2)  # 20 s in real use
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("p")
        await settle(pilot, app)
        notice = screen.query_one(Notice)
        assert notice.is_showing
        for _ in range(3000):  # a bound, not a timing
            if not notice.is_showing:
                break
            await pilot.pause(0.01)
        assert not notice.is_showing
    assert [e.kind for e in open_store().events("INC-1")].count("page") == 1


async def test_a_runbook_description_reads_its_code_without_backticks(make_app, broken) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.open_runbook("INC-1", "model-rollback", "component:default/demand-forecast")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, RunbookRunScreen)
        text = str(screen.query_one("#runbook-description", Static).render())
        assert "champion" in text and "since" in text
        assert "`" not in text


async def test_a_key_the_incident_screen_cannot_act_on_says_why(make_app, open_store) -> None:
    """An incident whose asset has nobody to page and no recovery plan: p and c say so."""
    from tests.tui.conftest import OPERATOR

    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("c")  # no run history, so no plan
        said = str(screen.query_one(Notice).render())
        assert "c does nothing here: no recovery plan" in said
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press("a")  # acknowledged already: a status only moves forward
        said = str(screen.query_one(Notice).render())
        assert "a does nothing now: INC-1 is acknowledged" in said
