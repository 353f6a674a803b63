"""The run screen's step keys at every moment: a key pressed while a step's worker still runs
(or just as it settles the next steps) is refused out loud, never dropped; `a` runs the rest of
the steps through the engine exactly as `x` does, stopping wherever the operator is needed.

A step is held mid-way by a real lock: the test holds an exclusive SQLite lock on the database
the step (or its check) reads, so the step's worker waits on it (the SQL action's busy timeout
is 10 s, far longer than the few keys pressed meanwhile); releasing it lets the step finish."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from textual.worker import WorkerState

from tests.tui.conftest import settle
from tui.screens.confirm_destructive import ConfirmDestructive
from tui.screens.runbook_run import RunbookRunScreen
from tui.widgets.notice import Notice

TRAINING_DB = "resource:default/training-db"


@contextmanager
def held(database: Path) -> Iterator[None]:
    """An exclusive lock on a SQLite database (rollback journal: readers wait too)."""
    conn = sqlite3.connect(database, isolation_level=None, timeout=0)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def _until(pilot, condition: Callable[[], bool], what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3000):  # a bound, not a timing
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"never happened: {what}")


async def _started(app, pilot) -> RunbookRunScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    app.open_runbook("INC-1", "training-store-partial-load", TRAINING_DB)
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, RunbookRunScreen)
    await pilot.press("ctrl+s")
    await settle(pilot, app)
    assert screen.session is not None and screen._current().id == "pause-etl"
    return screen


def _states(screen: RunbookRunScreen) -> dict[str, str]:
    assert screen.session is not None
    return {s.id: s.status for s in screen.session.plan()}


def _notice(screen: RunbookRunScreen) -> str:
    return str(screen.query_one(Notice).render())


def _run_workers(app) -> list[object]:  # type: ignore[no-untyped-def]
    return [w for w in app.workers if w.group == "run" and w.state == WorkerState.RUNNING]


def _effects(open_store, step: str) -> int:  # type: ignore[no-untyped-def]
    """How many times the ledger says `step` ran its effect in INC-1's runs."""
    store = open_store()
    return sum(
        entry.effect_count
        for run in store.list_runs(incident_id="INC-1")
        for entry in store.ledger_for_run(run.id)
        if entry.step_id == step and entry.status == "done"
    )


async def test_x_pressed_while_the_step_runs_is_refused_out_loud_and_starts_nothing(
    make_app, broken, workspace, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _started(app, pilot)
        with held(workspace / "data" / "ops.db"):
            await pilot.press("x")  # pause-etl's worker starts and waits on the lock
            assert screen.busy == "pause-etl"
            await pilot.press("x")
            said = _notice(screen)
            assert "x was not taken: pause-etl is still running" in said
            assert "Press it again once that is done" in said
            for key in ("a", "s", "d"):  # the other step keys too: refused, no dialog
                await pilot.press(key)
                assert f"{key} was not taken: pause-etl is still running" in _notice(screen)
                assert app.screen is screen
            assert len(_run_workers(app)) == 1  # no second worker on the same session
        await settle(pilot, app)
        assert _states(screen)["pause-etl"] == "done"
        assert screen.busy is None
        await pilot.press("x")  # now it is taken: the next step runs
        await settle(pilot, app)
        assert _states(screen)["snapshot-partial"] == "done"
    assert _effects(open_store, "pause-etl") == 1


async def test_x_pressed_just_as_a_step_finishes_and_the_next_is_checked_is_refused_out_loud(
    make_app, broken, workspace, open_store
) -> None:
    """The CI walk's lost key: pause-etl is done and its worker is checking whether
    snapshot-partial has anything to do (held here on training.db) when x is pressed."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _started(app, pilot)
        with held(workspace / "data" / "training.db"):
            await pilot.press("x")
            await _until(
                pilot,
                lambda: (
                    _states(screen)["pause-etl"] == "done" and screen.busy == "snapshot-partial"
                ),
                "pause-etl done and snapshot-partial's check under way",
            )
            await pilot.press("x")
            assert "x was not taken: snapshot-partial is still running" in _notice(screen)
            assert _states(screen)["snapshot-partial"] == "pending"
        await settle(pilot, app)
        assert screen.busy is None
        assert _states(screen)["snapshot-partial"] == "pending"  # its check says it must act
        await pilot.press("x")
        await settle(pilot, app)
        assert _states(screen)["snapshot-partial"] == "done"
    assert _effects(open_store, "snapshot-partial") == 1


async def test_a_step_key_after_the_run_is_over_says_so(make_app, broken, open_store) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _started(app, pilot)
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmDestructive)
        await pilot.press(*"training-db", "enter")
        await settle(pilot, app)
        assert screen.report is not None and screen.report.status == "done"
        await pilot.press("x")
        assert "x was not taken" in _notice(screen) and "is over" in _notice(screen)


async def test_a_runs_every_remaining_step_through_the_engine_and_asks_only_the_typed_name(
    make_app, broken, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _started(app, pilot)
        assert "a Run rest" in " ".join(
            str(b.binding.key) + " " + b.binding.description
            for b in screen.active_bindings.values()
        )
        await pilot.press("a")
        await settle(pilot, app)
        # the walk stopped for the destructive step's typed confirmation, its preview shown
        assert isinstance(app.screen, ConfirmDestructive)
        assert _states(screen)["pause-etl"] == "done"
        assert _states(screen)["snapshot-partial"] == "done"
        assert _states(screen)["reload"] == "pending"
        await pilot.press(*"training-db", "enter")
        await settle(pilot, app)
        assert set(_states(screen).values()) == {"done"}
        assert screen.report is not None and screen.report.status == "done"
    kinds = [(e.kind, e.message) for e in open_store().events("INC-1")]
    assert any(k == "decision" and "confirmed the destructive step" in m for k, m in kinds)
    for step in ("pause-etl", "snapshot-partial", "delete-partial", "reload", "resume-etl"):
        assert _effects(open_store, step) == 1


async def test_a_stops_where_the_destructive_step_is_declined_and_runs_nothing_after(
    make_app, broken, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _started(app, pilot)
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmDestructive)
        await pilot.press("escape")  # declined
        await settle(pilot, app)
        states = _states(screen)
        assert states["delete-partial"] == "pending" and states["reload"] == "pending"
        assert screen.report is None and screen.busy is None
    assert _effects(open_store, "reload") == 0


async def test_a_stops_at_a_failed_step_and_says_what_to_do(
    make_app, broken, workspace, open_store
) -> None:
    ops_db = workspace / "data" / "ops.db"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _started(app, pilot)
        hidden = ops_db.with_suffix(".away")
        ops_db.rename(hidden)  # the operations database is "down"
        try:
            await pilot.press("a")
            await settle(pilot, app)
        finally:
            hidden.rename(ops_db)
        states = _states(screen)
        assert states["pause-etl"] == "failed" and states["snapshot-partial"] == "pending"
        assert "pause-etl failed" in _notice(screen)
        assert app.screen is screen and screen.busy is None


async def test_escape_during_a_stops_after_the_step_under_way(
    make_app, broken, workspace, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _started(app, pilot)
        with held(workspace / "data" / "training.db"):
            await pilot.press("a")
            await _until(
                pilot, lambda: screen.busy == "snapshot-partial", "the walk at snapshot-partial"
            )
            await pilot.press("escape")
            assert "Stopping after snapshot-partial" in _notice(screen)
            assert app.screen is screen
        await settle(pilot, app)
        states = _states(screen)
        assert states["snapshot-partial"] == "done"
        assert states["delete-partial"] == "pending"
        assert not isinstance(app.screen, ConfirmDestructive)
        assert "Stopped as asked" in _notice(screen)
