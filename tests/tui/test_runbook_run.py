"""The runbook run screen: validation, dry run, a held lease, the typed gate, and resuming."""

from __future__ import annotations

from textual.widgets import Input, Static

from tests.tui.conftest import settle, type_text
from tui.screens.confirm_destructive import ConfirmDestructive
from tui.screens.incident import IncidentScreen
from tui.screens.prompt import TextPromptScreen
from tui.screens.runbook_run import RunbookRunScreen
from tui.widgets.notice import Notice
from tui.widgets.runbook_list import RunbookList
from tui.widgets.step_detail import StepDetail

TRAINING_DB = "resource:default/training-db"


async def _open_run(app, pilot) -> RunbookRunScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    app.open_runbook("INC-1", "training-store-partial-load", TRAINING_DB)
    await settle(pilot, app)
    screen = app.screen
    assert isinstance(screen, RunbookRunScreen)
    return screen


async def test_a_bad_parameter_is_refused_under_its_field_and_nothing_starts(
    make_app, broken, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        day = screen.query_one("#param-day", Input)
        day.value = "yesterday"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert screen.session is None
        error = str(screen.query_one("#error-day", Static).render())
        assert error.startswith("✖ must match")
        assert open_store().list_runs(incident_id="INC-1") == []


async def test_a_dry_run_checks_every_step_and_changes_nothing(
    make_app, broken, open_store
) -> None:
    events_before = len(open_store().events("INC-1"))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+t", "ctrl+s")
        await settle(pilot, app)
        assert screen.report is not None and screen.report.status == "dry_run"
        assert {s.status for s in screen.report.steps} <= {"would_run", "would_skip"}
        assert "Dry run finished" in screen.query_one(StepDetail).text
    assert open_store().list_runs(incident_id="INC-1") == []
    assert len(open_store().events("INC-1")) == events_before


async def test_the_destructive_step_runs_only_after_the_asset_name_is_typed(
    make_app, broken, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await pilot.press("x")
        await settle(pilot, app)
        await pilot.press("x")
        await settle(pilot, app)
        await pilot.press("x")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmDestructive)
        await pilot.press(*"training", "enter")  # not the name: refused, the dialog stays
        assert isinstance(app.screen, ConfirmDestructive)
        await pilot.press("escape")  # cancelled: the step did not run
        await settle(pilot, app)
        states = {s.id: s.status for s in screen.session.plan()}
        assert states["delete-partial"] == "pending"
        await pilot.press("x")
        await settle(pilot, app)
        await pilot.press(*"training-db", "enter")
        await settle(pilot, app)
        states = {s.id: s.status for s in screen.session.plan()}
        assert states["delete-partial"] == "done"
    kinds = [(e.kind, e.message) for e in open_store().events("INC-1")]
    assert any(k == "decision" and "confirmed the destructive step" in m for k, m in kinds)


async def test_a_held_lease_names_its_holder_and_f_takes_it_over_with_a_reason(
    make_app, broken, open_store
) -> None:
    store = open_store()
    other = store.create_run(
        "INC-1", "training-store-partial-load", 1, "0" * 64, {}, "user:default/ben.okafor", False
    )
    store.acquire_lease(
        TRAINING_DB, "user:default/ben.okafor", "INC-1", other.id, 600, "laptop pid 1"
    )
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert screen.session is None
        notice = str(screen.query_one(Notice).render())
        assert "leased by ben.okafor" in notice
        assert "laptop pid 1" in notice
        assert "press ctrl+f" in notice
        await pilot.press("ctrl+f")
        assert isinstance(app.screen, TextPromptScreen)
        await type_text(pilot, "ben is asleep")
        await pilot.press("enter")
        await settle(pilot, app)
        assert screen.session is not None
        said = str(screen.query_one(Notice).render())
        assert "Taken over" in said and "ben is asleep" in said and "timeline" in said
    lease = open_store().get_lease(TRAINING_DB)
    assert lease is not None and lease.run_id != other.id
    overrides = [e for e in open_store().events("INC-1") if e.kind == "override"]
    assert overrides and "ben is asleep" in overrides[-1].message


async def test_leaving_mid_run_interrupts_it_and_the_incident_offers_to_resume(
    make_app, broken, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.open_incident("INC-1")
        await settle(pilot, app)
        incident = app.screen
        assert isinstance(incident, IncidentScreen)
        await pilot.press("3", "r", "ctrl+s")
        await settle(pilot, app)
        await pilot.press("x")
        await settle(pilot, app)
        await pilot.press("escape")  # pause-etl changed something: leaving asks first
        await settle(pilot, app)
        from tui.screens.choice import ChoiceScreen

        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen)
        assert dialog.question_title == "Leave RUN-1 half-done?"
        assert "Changed so far: pause-etl" in dialog.text
        assert "Not done yet: snapshot-partial, delete-partial, reload, resume-etl" in dialog.text
        assert "↻ resume RUN-1" in dialog.text
        await pilot.press("enter")  # the focused answer is Stay
        await settle(pilot, app)
        assert isinstance(app.screen, RunbookRunScreen)
        await pilot.press("escape", "l")
        await settle(pilot, app)
        assert app.screen is incident
        assert [r.status for r in open_store().list_runs(incident_id="INC-1")] == ["interrupted"]
        first = incident.query_one(RunbookList).get_option_at_index(0)
        assert first.id == "run:RUN-1"
        assert "↻ resume" in str(first.prompt)
        incident.query_one(RunbookList).highlighted = 0
        await pilot.press("r")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, RunbookRunScreen)
        assert screen.session is not None and screen.session.run_id == "RUN-1"
        states = {s.id: s.status for s in screen.session.plan()}
        assert states["pause-etl"] == "done"
        assert states["snapshot-partial"] == "pending"


async def test_a_run_killed_mid_step_resumes_with_the_step_in_doubt_settled_by_its_check(
    make_app, broken, workspace, open_store
) -> None:
    import os
    import subprocess

    from tests.conftest import oncall_argv
    from tui.widgets.step_list import StepList

    argv = oncall_argv(
        "--workspace", str(workspace), "--as", "ana.lima",
        "runbook", "run", "training-store-partial-load", "--incident", "INC-1",
        "--yes", "--yes-destructive", "--param", "asset=training-db",
        "--param", f"since={broken.since}", "--param", f"day={broken.day}",
    )  # fmt: skip
    env = {**os.environ, "ONCALL_FAILPOINT": "delete-partial:after"}
    killed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert killed.returncode == -9, killed.stderr
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.open_incident("INC-1")
        await settle(pilot, app)
        runbooks = app.screen.query_one(RunbookList)
        assert runbooks.get_option_at_index(0).id == "run:RUN-1"
        runbooks.highlighted = 0
        await pilot.press("r")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, RunbookRunScreen)
        states = {s.id: s.status for s in screen.session.plan()}
        assert states["delete-partial"] == "in_doubt"
        steps = screen.query_one(StepList)
        assert "? in doubt" in str(steps.get_option_at_index(2).prompt)
        await pilot.press("x")  # its check shows the effect happened: settled, not repeated
        await settle(pilot, app)
        assert not isinstance(app.screen, ConfirmDestructive)
        states = {s.id: s.status for s in screen.session.plan()}
        assert states["delete-partial"] == "done"
    entries = {e.step_id: e for e in open_store().ledger_for_run("RUN-1")}
    assert entries["delete-partial"].status == "done"
    assert entries["delete-partial"].effect_count in (0, 1)


async def test_a_failed_step_is_shown_in_place_with_what_to_do_and_can_be_retried(
    make_app, broken, workspace, open_store
) -> None:
    ops_db = workspace / "data" / "ops.db"
    hidden = ops_db.with_suffix(".away")
    ops_db.rename(hidden)  # the operations database is "down"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await pilot.press("x")
        await settle(pilot, app)
        states = {s.id: s.status for s in screen.session.plan()}
        assert states["pause-etl"] == "failed"
        notice = str(screen.query_one(Notice).render())
        assert "✖ Error: pause-etl failed" in notice
        assert "then press x to run it again" in notice
        assert "✖ failed" in str(screen.query_one("#steps").get_option_at_index(0).prompt)
        hidden.rename(ops_db)  # back up
        await pilot.press("x")
        await settle(pilot, app)
        states = {s.id: s.status for s in screen.session.plan()}
        assert states["pause-etl"] == "done"
        notice = str(screen.query_one(Notice).render())  # the error gone; what it changed
        assert "Error" not in notice and "pause-etl done: 1 row changed" in notice


async def test_resuming_a_run_that_may_still_be_alive_elsewhere_needs_a_reason(
    make_app, broken, workspace, open_store
) -> None:
    import os
    import subprocess

    from tests.conftest import oncall_argv

    argv = oncall_argv(
        "--workspace", str(workspace), "--as", "ana.lima",
        "runbook", "run", "training-store-partial-load", "--incident", "INC-1",
        "--yes", "--yes-destructive", "--param", "asset=training-db",
        "--param", f"since={broken.since}", "--param", f"day={broken.day}",
    )  # fmt: skip
    env = {**os.environ, "ONCALL_FAILPOINT": "snapshot-partial:before"}
    assert subprocess.run(argv, env=env, capture_output=True, timeout=60).returncode == -9
    store = open_store()
    for lease in store.list_leases(run_id="RUN-1"):  # as if the run lived on another laptop
        store.force_lease(lease.asset, lease.holder, "INC-1", "RUN-1", 3600, "laptop-2 pid 77")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.resume_run("INC-1", "RUN-1")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, RunbookRunScreen)
        assert screen.session is None
        notice = str(screen.query_one(Notice).render())
        assert "may still be running on laptop-2 pid 77" in notice
        assert "ctrl+f" in notice
        await pilot.press("ctrl+f")
        assert isinstance(app.screen, TextPromptScreen)
        await type_text(pilot, "laptop-2 is off, checked with ana")
        await pilot.press("enter")
        await settle(pilot, app)
        assert screen.session is not None and screen.session.run_id == "RUN-1"
    overrides = [e for e in open_store().events("INC-1") if e.kind == "override"]
    assert overrides and "laptop-2 is off" in overrides[-1].message
    # Recorded once, by the engine, with the reason and who took over.
    assert len(overrides) == 1
    assert overrides[0].data["reason"] == "laptop-2 is off, checked with ana"
    assert overrides[0].actor == "user:default/ana.lima"


def _alive_elsewhere_in_this_machine():  # type: ignore[no-untyped-def]
    """A real process on this machine standing in for another app instance's run."""
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def _vetted(workspace, runbook_id: str):  # type: ignore[no-untyped-def]
    from runbooks.library import load_library
    from workspace.discovery import open_workspace

    ws = open_workspace(workspace)
    runbook = load_library(ws.runbooks_dir, ws.lock_file).get(runbook_id).runbook
    assert runbook is not None
    return runbook


async def test_a_resume_refused_because_the_run_is_alive_here_survives_ctrl_s_and_explains(
    make_app, broken, open_store, workspace
) -> None:
    import socket

    store = open_store()
    runbook = _vetted(workspace, "training-store-partial-load")
    # stored as a start stores it: the canonical ref (a resume never re-resolves a name)
    params = {
        "asset": TRAINING_DB,
        "since": broken.since,
        "day": broken.day,
        "pipeline": "component:default/nightly-etl",
    }
    run = store.create_run(
        "INC-1", runbook.id, runbook.version, runbook.sha256, params, "user:default/ana.lima", False
    )
    holder = _alive_elsewhere_in_this_machine()
    try:
        host = f"{socket.gethostname()} pid {holder.pid}"
        store.acquire_lease(TRAINING_DB, "user:default/ana.lima", "INC-1", run.id, 600, host)
        app = make_app(operator="user:default/ben.okafor")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, app)
            app.resume_run("INC-1", run.id)
            await settle(pilot, app)
            screen = app.screen
            assert isinstance(screen, RunbookRunScreen)
            assert screen.session is None
            notice = str(screen.query_one(Notice).render())
            assert f"{run.id} is still running here" in notice
            assert "--force" not in notice  # the app speaks in keys, not CLI flags
            assert screen.check_action("start", ()) is False  # not advertised: no form
            assert screen.check_action("force_lease", ()) is False  # a live run: never
            await pilot.press("ctrl+s", "ctrl+t", "ctrl+f")  # once: NoMatches 'ParamsForm'
            await settle(pilot, app)
            assert app.screen is screen and screen.session is None
    finally:
        holder.kill()
        holder.wait()


async def test_a_lease_whose_holders_process_is_gone_says_so_and_offers_the_resume(
    make_app, broken, open_store
) -> None:
    import socket

    store = open_store()
    other = store.create_run(
        "INC-1", "training-store-partial-load", 1, "0" * 64, {}, "user:default/ben.okafor", False
    )
    gone = _alive_elsewhere_in_this_machine()
    gone.kill()
    gone.wait()
    host = f"{socket.gethostname()} pid {gone.pid}"
    store.acquire_lease(TRAINING_DB, "user:default/ben.okafor", "INC-1", other.id, 600, host)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        notice = str(screen.query_one(Notice).render())
        assert "Its process is gone" in notice
        assert f"Resume {other.id} from the incident" in notice


async def test_each_step_opens_at_its_top_with_title_and_warning_pinned(
    make_app, broken, open_store
) -> None:
    from textual.containers import VerticalScroll

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await pilot.press("x")  # pause-etl
        await settle(pilot, app)
        detail = screen.query_one(StepDetail)
        body = detail.query_one("#step-body", VerticalScroll)
        assert body.max_scroll_y > 0  # snapshot-partial's SQL is longer than the space at 80x24
        await pilot.press("shift+down", "shift+down")
        await pilot.pause()
        assert body.scroll_y > 0
        hint = str(detail.query_one("#step-scroll-hint", Static).render())
        assert "shift+↓/↑ scrolls the action" in hint and "above" in hint
        await pilot.press("x")  # snapshot-partial; delete-partial comes next
        await settle(pilot, app)
        assert body.scroll_y == 0  # at its top, not where the last step was scrolled
        head = str(detail.query_one("#step-head", Static).render())
        assert head.startswith("delete-partial — ")
        assert "⚠ destructive" in head
        first_code = detail.query(".step-code").first(Static)
        assert first_code.region.y < body.region.bottom  # the first line of its SQL is shown
        assert "DELETE FROM" in detail.text


async def test_the_runbook_list_remembers_done_and_partial_and_a_run_can_be_abandoned(
    make_app, broken, open_store
) -> None:
    from tui.screens.incident import IncidentScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.open_incident("INC-1")
        await settle(pilot, app)
        incident = app.screen
        assert isinstance(incident, IncidentScreen)
        runbooks = incident.query_one(RunbookList)
        await pilot.press("3")
        rollback = "model-rollback@component:default/demand-forecast"
        runbooks.highlighted = runbooks.get_option_index(rollback)
        # A run of the first suggestion starts, does one step and is left: a resume row
        # appears above, and the highlight stays on model-rollback, not on the row now there.
        app.open_runbook("INC-1", "training-store-partial-load", TRAINING_DB)
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await pilot.press("x")
        await settle(pilot, app)
        await pilot.press("escape", "l")
        await settle(pilot, app)
        assert app.screen is incident
        assert runbooks.get_option_at_index(0).id == "run:RUN-1"
        assert runbooks.highlighted_runbook == rollback
        first = runbooks.get_option_index("training-store-partial-load@" + TRAINING_DB)
        assert "◐ partial" in str(runbooks.get_option_at_index(first).prompt)
        # A abandons it, with a reason, and it leaves the list for good.
        runbooks.highlighted = 0
        await pilot.press("A")
        assert isinstance(app.screen, TextPromptScreen)
        await type_text(pilot, "started on the wrong day")
        await pilot.press("enter")
        await settle(pilot, app)
        assert not any(
            (runbooks.get_option_at_index(i).id or "").startswith("run:")
            for i in range(runbooks.option_count)
        )
    store = open_store()
    assert store.get_run("RUN-1").status == "abandoned"
    assert store.list_leases("RUN-1") == []
    event = store.events("INC-1")[-1]
    assert event.kind == "decision"
    assert "abandoned RUN-1" in event.message and "started on the wrong day" in event.message


async def test_a_refused_start_is_not_offered_for_resume_and_a_finished_runbook_says_done(
    make_app, broken, open_store
) -> None:
    import subprocess

    from tests.conftest import oncall_argv
    from tui.screens.incident import IncidentScreen

    store = open_store()
    other = store.create_run(
        "INC-1", "training-store-partial-load", 1, "0" * 64, {}, "user:default/ben.okafor", False
    )
    store.acquire_lease(TRAINING_DB, "user:default/ben.okafor", "INC-1", other.id, 600, "x pid 1")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")  # refused: the lease is held
        await settle(pilot, app)
        assert screen.session is None
        await pilot.press("escape")
        await settle(pilot, app)
        app.open_incident("INC-1")
        await settle(pilot, app)
        runbooks = app.screen.query_one(RunbookList)
        offered = [runbooks.get_option_at_index(i).id for i in range(runbooks.option_count)]
        assert "run:RUN-2" not in offered  # refused before its first step: nothing to resume
    store.release_lease(TRAINING_DB, other.id)
    store.set_run_status(other.id, "abandoned")
    workspace = app.context.workspace.root
    recovery = broken.commands()[0].split()[1:]
    done = subprocess.run(
        oncall_argv("-w", str(workspace), *recovery), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app.open_incident("INC-1")
        await settle(pilot, app)
        assert isinstance(app.screen, IncidentScreen)
        runbooks = app.screen.query_one(RunbookList)
        index = runbooks.get_option_index("training-store-partial-load@" + TRAINING_DB)
        assert "✔ done" in str(runbooks.get_option_at_index(index).prompt)
        runbooks.highlighted = index
        await pilot.press("r")  # the same recovery again: it says so before anything starts
        await settle(pilot, app)
        assert isinstance(app.screen, RunbookRunScreen)
        notice = str(app.screen.query_one(Notice).render())
        assert "Already done by RUN-3: it ran training-store-partial-load for training-db" in notice
        assert "repeats nothing already done" in notice
