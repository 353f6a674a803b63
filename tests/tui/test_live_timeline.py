"""The incident screen follows the timeline live: an event appended by another process appears
without a key pressed (PostgreSQL pushes it with NOTIFY; SQLite's chain head is polled)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.incidents.test_live import _append_in_another_process
from tests.tui.conftest import OPERATOR, settle
from tui.screens.incident import IncidentScreen
from tui.widgets.timeline import Timeline
from workspace.discovery import open_workspace

WAIT_SECONDS = 60.0  # a hang guard, not a timing assertion (bench/ measures the latency)


def _use_database(workspace: Path, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        return  # the workspace's own .oncall/state.db
    config = workspace / "oncall.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(f'database_url = "{database_url}"\n' + text, encoding="utf-8")


async def test_a_note_appended_by_another_process_appears_on_the_incident_screen(
    make_app, open_store, workspace: Path, database_url: str
) -> None:
    _use_database(workspace, database_url)
    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        app.open_incident("INC-1")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, IncidentScreen)
        timeline = screen.query_one(Timeline)
        assert timeline.last_seq == 1
        url = open_workspace(workspace).database_url
        await asyncio.to_thread(
            _append_in_another_process, url, "INC-1", "bo: restarting the loader"
        )
        deadline = time.monotonic() + WAIT_SECONDS
        while timeline.last_seq < 2 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        texts = [str(timeline.get_option_at_index(i).prompt) for i in range(timeline.option_count)]
    assert any("bo: restarting the loader" in text for text in texts)


async def test_an_incident_opened_by_another_process_appears_on_the_incidents_list(
    make_app, open_store, workspace: Path, database_url: str
) -> None:
    from tui.widgets.incident_table import IncidentTable

    _use_database(workspace, database_url)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one(IncidentTable)
        assert table.row_count == 0
        url = open_workspace(workspace).database_url
        await asyncio.to_thread(_open_by_alert_in_another_process, url)
        deadline = time.monotonic() + WAIT_SECONDS
        while table.row_count == 0 and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert table.row_count == 1


OPEN_BY_ALERT = """
import sys
from datetime import UTC, datetime
from incidents.alerts import IncomingAlert
from incidents.store import Store
with Store.open(sys.argv[1]) as store:
    store.record_alerts(
        [IncomingAlert("f1", "firing", datetime.now(UTC), "LoadFailed",
                       "resource:default/training-db", "Load failed", "SEV2", "firing: LoadFailed")],
        actor="alertmanager",
    )
"""


def _open_by_alert_in_another_process(url: str) -> None:
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", OPEN_BY_ALERT, url], check=True, timeout=60)
