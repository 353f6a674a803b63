"""Fixtures for the app's tests: a private copy of the demo workspace and a frozen clock.

The clock is frozen at 03:00 UTC (the hour this tool exists for) so timers, rotation hand-overs
and timeline times are the same on every run, which the snapshot tests rely on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tui.app import OncallApp
from tui.context import AppContext

FROZEN_NOW = datetime(2026, 3, 10, 3, 0, 0, tzinfo=UTC)
OPERATOR = "user:default/ana.lima"


class SteppingClock:
    """A clock tests move by hand; `now()` never changes unless told to."""

    def __init__(self, start: datetime = FROZEN_NOW) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture(autouse=True)
def own_preferences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own (empty) preferences: a theme chosen on this machine must not leak
    into snapshots, and a test choosing one must not change the developer's."""
    folder = tmp_path / "config"
    monkeypatch.setenv("ONCALL_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh demo workspace (`oncall demo init`): catalog, vetted runbooks, seeded databases."""
    from demo import init_workspace

    return init_workspace(tmp_path / "demo", now=FROZEN_NOW)


@pytest.fixture
def make_app(workspace: Path, clock: SteppingClock) -> Callable[..., OncallApp]:
    def make(root: Path | None = None, operator: str = OPERATOR) -> OncallApp:
        context = AppContext(workspace_arg=root or workspace, as_user=operator)
        app = OncallApp(context, clock=clock)
        app.animation_level = "none"  # tab underlines and scrolls land at once: faster, stable
        return app

    return make


@pytest.fixture
def open_store(workspace: Path, clock: SteppingClock):  # type: ignore[no-untyped-def]
    """The workspace's store, opened with the same clock the app uses (closed after the test)."""
    from incidents.store import Store
    from workspace.discovery import open_workspace

    stores = []

    def opener(root: Path | None = None) -> Store:
        store = Store.open(open_workspace(root or workspace).database_url, clock=clock)
        stores.append(store)
        return store

    yield opener
    for store in stores:
        store.close()


@pytest.fixture
def broken(workspace: Path, open_store):  # type: ignore[no-untyped-def]
    """`oncall demo break`: the weekend's four partial loads, and INC-1 open with its alert."""
    from demo import break_workspace

    return break_workspace(workspace, open_store(), now=FROZEN_NOW)


async def settle(pilot, app: OncallApp) -> None:  # type: ignore[no-untyped-def]
    """Let workers finish and their messages be handled (a superseded worker is cancelled:
    that is how exclusive workers drop stale work, not a failure). A run worker that waits for
    the operator's answer in a dialog (the engine asking through the app's prompter) counts as
    settled once its dialog is up: the test answers it next."""
    for _ in range(2):
        await _workers_done_or_asking(pilot, app)
        await pilot.pause()


async def _workers_done_or_asking(pilot, app: OncallApp) -> None:  # type: ignore[no-untyped-def]
    from textual.screen import ModalScreen

    for _ in range(6000):  # a bound, not a timing: a hung worker fails the test's next assert
        busy = [worker for worker in app.workers if not worker.is_finished]
        if not busy:
            return
        if isinstance(app.screen, ModalScreen) and all(w.group == "run" for w in busy):
            return
        await pilot.pause(0.01)


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Put `text` in the focused input as if typed (one Changed event, not one per key): the
    per-key path is covered where it matters; elsewhere this keeps the suite fast."""
    from textual.widgets import Input

    focused = pilot.app.focused
    assert isinstance(focused, Input), f"focus is on {focused!r}, not an input"
    focused.insert_text_at_cursor(text)
    await pilot.pause()
