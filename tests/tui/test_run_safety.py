"""The app's safety flow on the real demo (real SQLite files): checks before any confirmation,
"already done" before starting again, the destructive confirmation's preview and what the step
changed, and break-glass decided once, before the first effect, naming whom to call."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from textual.widgets import Input, Static

from tests.conftest import oncall_argv
from tests.tui.conftest import settle, type_text
from tui.screens.break_glass import BreakGlassScreen
from tui.screens.choice import ChoiceScreen
from tui.screens.confirm_destructive import ConfirmDestructive, preview_line
from tui.screens.runbook_run import RunbookRunScreen
from tui.widgets.notice import Notice
from tui.widgets.step_detail import StepDetail

TRAINING_DB = "resource:default/training-db"
RUNBOOK = "training-store-partial-load"
PARTIAL = "status IN ('partial', 'failed', 'running') AND started_at >= ?"


async def _open_run(app, pilot) -> RunbookRunScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    app.open_runbook("INC-1", RUNBOOK, TRAINING_DB)
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, RunbookRunScreen)
    return screen


async def _run_steps(pilot, app, count: int) -> None:  # type: ignore[no-untyped-def]
    """Press x `count` times, each once the last step has settled (a busy screen ignores x)."""
    for _ in range(count):
        await pilot.press("x")
        await settle(pilot, app)


def _statuses(screen: RunbookRunScreen) -> dict[str, str]:
    assert screen.session is not None
    return {s.id: s.status for s in screen.session.plan()}


def _recover_by_cli(workspace: Path, broken) -> None:  # type: ignore[no-untyped-def]
    recovery = broken.commands()[0].split()[1:]
    done = subprocess.run(
        oncall_argv("-w", str(workspace), *recovery), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


async def test_a_finished_recovery_says_already_done_first_and_starting_again_is_explicit(
    make_app, broken, workspace, open_store
) -> None:
    _recover_by_cli(workspace, broken)  # RUN-1, done
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        notice = str(screen.query_one(Notice).render())
        assert "Already done by RUN-1: it ran training-store-partial-load for training-db" in notice
        assert "with the same parameters" in notice
        await pilot.press("ctrl+s")  # asks before anything starts; Enter keeps it unstarted
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen)
        assert dialog.question_title == f"Start {RUNBOOK} again?"
        assert "already done by RUN-1" in dialog.text
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.screen is screen and screen.session is None
        assert [r.id for r in open_store().list_runs(incident_id="INC-1")] == ["RUN-1"]
        await pilot.press("ctrl+s", "s")  # "Start anyway", explicitly
        await settle(pilot, app)
        # Every step settles without a question: no typed name for a step that is skipped.
        assert not isinstance(app.screen, ConfirmDestructive)
        assert screen.report is not None and screen.report.status == "done"
        assert set(_statuses(screen).values()) == {"skipped"}
    events = [e for e in open_store().events("INC-1") if e.data.get("run") == "RUN-2"]
    assert not any("confirmed the destructive step" in e.message for e in events)
    skipped = [e.message for e in events if e.kind == "step_skipped"]
    assert len(skipped) == 5 and all("already done by RUN-1" in m for m in skipped)


async def test_a_destructive_step_whose_check_holds_is_skipped_without_typing_the_name(
    make_app, broken, workspace, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await pilot.press("x")  # pause-etl
        await settle(pilot, app)
        # Meanwhile someone set the partial loads aside and discarded them by hand.
        with sqlite3.connect(workspace / "data" / "training.db") as db:
            db.execute(
                "INSERT INTO samples_snapshot (snapshot_id, sample_id, load_id, order_id, day, "
                "shop, sku, qty, unit_price) SELECT 'INC-1', s.id, s.load_id, s.order_id, s.day, "
                "s.shop, s.sku, s.qty, s.unit_price FROM samples s JOIN loads l ON "
                f"l.id = s.load_id WHERE l.{PARTIAL}",
                (broken.since,),
            )
            db.execute(
                f"DELETE FROM samples WHERE load_id IN (SELECT id FROM loads WHERE {PARTIAL})",
                (broken.since,),
            )
            db.execute(f"UPDATE loads SET status = 'discarded' WHERE {PARTIAL}", (broken.since,))
        await pilot.press("x")  # snapshot-partial: its check holds now, and so does the next's
        await settle(pilot, app)
        assert not isinstance(app.screen, ConfirmDestructive)  # nothing asked for delete-partial
        statuses = _statuses(screen)
        assert statuses["snapshot-partial"] == "skipped"
        assert statuses["delete-partial"] == "skipped"
        assert statuses["reload"] == "pending"  # the next step that must act waits for x
        state = next(s for s in screen.session.plan() if s.id == "delete-partial")
        assert state.message.startswith("desired state already holds")
    decisions = [e.message for e in open_store().events("INC-1") if e.kind == "decision"]
    assert not any("confirmed the destructive step" in m for m in decisions)


async def test_the_destructive_confirmation_shows_the_preview_and_the_run_what_changed(
    make_app, broken, workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await _run_steps(pilot, app, 2)
        await pilot.press("x")  # delete-partial: its check does not hold, so it asks
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDestructive)
        preview = str(dialog.query_one("#destructive-preview", Static).render())
        assert preview == "Will change: deletes 490 rows of 4 loads"
        await pilot.press(*"training-db", "enter")
        await settle(pilot, app)
        assert _statuses(screen)["delete-partial"] == "done"
        notice = str(screen.query_one(Notice).render())
        assert "delete-partial done: 494 rows changed" in notice
        await _run_steps(pilot, app, 2)  # reload, resume-etl
        assert screen.report is not None and screen.report.status == "done"
        closing = screen.query_one(StepDetail).text
        assert "What changed" in closing and "delete-partial: 494 rows changed" in closing
    with sqlite3.connect(workspace / "data" / "training.db") as db:
        assert (
            db.execute(f"SELECT COUNT(*) FROM loads WHERE {PARTIAL}", (broken.since,)).fetchone()[0]
            == 0
        )


async def test_a_preview_that_cannot_be_read_is_said_plainly_and_does_not_block_the_step(
    make_app, broken, workspace
) -> None:
    from runbooks.vetting import vet
    from workspace.discovery import open_workspace

    path = workspace / "runbooks" / f"{RUNBOOK}.yaml"
    text = path.read_text(encoding="utf-8")
    good = "COUNT(DISTINCT load_id) || ' loads'\n        FROM samples"
    assert good in text
    path.write_text(text.replace(good, good.replace("FROM samples", "FROM no_such")), "utf-8")
    ws = open_workspace(workspace)
    vet(path, "ben.okafor", ws.lock_file)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await _run_steps(pilot, app, 2)
        await pilot.press("x")
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDestructive)
        preview = str(dialog.query_one("#destructive-preview", Static).render())
        assert preview.startswith("No preview: it could not be read (")
        assert "no such table: no_such" in preview
        assert "not known beforehand" in preview
        await pilot.press(*"training-db", "enter")
        await settle(pilot, app)
        assert _statuses(screen)["delete-partial"] == "done"


def test_an_action_with_no_preview_says_so_rather_than_guessing() -> None:
    from runbooks.actions import Preview

    assert str(preview_line(None)).startswith("No preview: this action cannot tell")
    assert str(preview_line(Preview("champion: v5 → v4"))) == "Will change: champion: v5 → v4"


async def test_break_glass_is_asked_once_before_any_effect_and_names_whom_to_call(
    make_app, broken, workspace, open_store, clock
) -> None:
    from graph.loader import load_catalog
    from graph.queries import owners

    catalog = load_catalog([workspace / "catalog"])
    on_call = owners(catalog, TRAINING_DB, clock()).on_call
    assert on_call is not None
    app = make_app(operator="user:default/erin.walsh")  # team-ml: not an owner of training-db
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, BreakGlassScreen)  # before the first effect: no run yet
        assert open_store().list_runs(incident_id="INC-1") == []
        said = "\n".join(str(s.render()) for s in dialog.query(Static))
        assert "erin.walsh is neither an owner of nor on call for" in said
        assert f"training-db: owned by team-data; on call now: {on_call.name}" in said
        assert "--" not in said  # the app never quotes command-line flags
        await type_text(pilot, "urgent")
        await pilot.press("enter")  # too short: refused with the rule, the dialog stays
        assert app.screen is dialog
        error = str(dialog.query_one("#form-error", Static).render())
        assert "at least 15 characters (this one has 6)" in error
        dialog.query_one(Input).value = ""
        await type_text(pilot, "team-data is unreachable since 3 AM")
        await pilot.press("enter")
        await settle(pilot, app)
        assert screen.session is not None
        await _run_steps(pilot, app, 2)
        await pilot.press("x")  # delete-partial: only the typed name, no second break-glass
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmDestructive)
        await pilot.press(*"training-db", "enter")
        await settle(pilot, app)
        assert _statuses(screen)["delete-partial"] == "done"
    overrides = [e for e in open_store().events("INC-1") if e.kind == "override"]
    assert [e.data["break_glass"] for e in overrides] == ["team-data is unreachable since 3 AM"]


async def test_cancelling_break_glass_refuses_the_run_and_names_whom_to_call(
    make_app, broken, open_store
) -> None:
    app = make_app(operator="user:default/erin.walsh")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, BreakGlassScreen)
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is screen and screen.session is None
        notice = str(screen.query_one(Notice).render())
        assert "refused before any step ran, nothing was changed" in notice
        assert "Call instead: training-db: owned by team-data; on call now:" in notice
        assert "--break-glass" not in notice
    assert open_store().list_runs(incident_id="INC-1") == []


async def test_quitting_with_the_destructive_dialog_open_runs_nothing_and_exits(
    make_app, broken, workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await _run_steps(pilot, app, 3)
        assert isinstance(app.screen, ConfirmDestructive)
        app.exit()  # the engine's worker waits on the dialog: it lets go, answering "no"
    with sqlite3.connect(workspace / "data" / "training.db") as db:
        partial = db.execute(f"SELECT COUNT(*) FROM loads WHERE {PARTIAL}", (broken.since,))
        assert partial.fetchone()[0] == 4
