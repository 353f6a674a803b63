"""The recovery plan run from the app: `c` on the incident opens it, `r` runs it step by step in
the runbook run screen (the next step opens when one is done), stopping midway and pressing `r`
again continues, a finished plan run again changes nothing, manual items name their owner, and
the plan and its decisions on the timeline are the ones `oncall recover` records."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from textual.widgets import Static

from demo.databases import audit_rows
from tests.conftest import oncall_argv
from tests.tui.conftest import settle
from tui.screens.choice import ChoiceScreen
from tui.screens.confirm_destructive import ConfirmDestructive
from tui.screens.incident import IncidentScreen
from tui.screens.plan import PlanScreen
from tui.screens.runbook_run import RunbookRunScreen
from tui.widgets.notice import Notice

ORDER = [
    ("training-store-partial-load", "resource:default/training-db"),
    ("model-rollback", "component:default/demand-forecast"),
    ("feed-backout", "component:default/pricing-feed"),
    ("feed-backout", "component:default/tax-feed"),
]


async def _open_plan(app, pilot) -> PlanScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    await pilot.press("enter")  # INC-1, the only open incident
    await settle(pilot, app)
    await settle(pilot, app)
    assert isinstance(app.screen, IncidentScreen)
    await pilot.press("c")
    await settle(pilot, app)
    assert isinstance(app.screen, PlanScreen)
    return app.screen


async def _finish_run(
    pilot, app, *, steps: int | None = None, typed: list[str] | None = None
) -> RunbookRunScreen:  # type: ignore[no-untyped-def]
    """Press x on the open run screen (typing the asset's name at a destructive step, noted in
    `typed`) until the screen closes, or `steps` steps have run."""
    screen = app.screen
    assert isinstance(screen, RunbookRunScreen), app.screen
    ran = 0
    while app.screen is screen and (steps is None or ran < steps):
        assert ran < 12, "the run does not end"
        await pilot.press("x")
        await settle(pilot, app)
        if isinstance(app.screen, ConfirmDestructive):
            if typed is not None:
                typed.append(app.screen.asset_name)
            await pilot.press(*app.screen.asset_name, "enter")
            await settle(pilot, app)
        await settle(pilot, app)
        ran += 1
    return screen


def _notice(screen) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one(Notice).render())


async def test_r_runs_the_plan_in_order_each_step_in_the_run_screen(
    make_app, broken, workspace: Path, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        plan_screen = await _open_plan(app, pilot)
        await pilot.press("r")
        await settle(pilot, app)
        opened = []
        typed: list[str] = []
        while isinstance(app.screen, RunbookRunScreen):
            run = app.screen
            opened.append((run.runbook_id, run.asset_ref, dict(run.given_params or {})))
            assert run.session is not None and not run.session.dry_run  # started, no form
            if len(opened) > 1:  # each next step says the previous one is done
                assert f"✔ Step {len(opened) - 1} done" in _notice(run)
            await _finish_run(pilot, app, typed=typed)
            await settle(pilot, app)
        assert app.screen is plan_screen
        assert typed == ["training-db"]  # the destructive step asked, as in any run
        assert [(r, a) for r, a, _ in opened] == ORDER
        assert [p for _, _, p in opened] == [s.params for s in plan_screen.plan.steps]
        assert [s.state for s in plan_screen.steps] == ["done"] * 4
        assert "✔ Recovery plan done: 4 runbook runs (RUN-1, RUN-2, RUN-3, RUN-4)" in _notice(
            plan_screen
        )
        events = open_store().events("INC-1")
        runs = open_store().list_runs("INC-1")
        assert [(r.runbook_id, r.status) for r in runs] == [(r, "done") for r, _ in ORDER]

        # r again on a finished plan: nothing runs, nothing is added to the timeline
        await pilot.press("r")
        await settle(pilot, app)
        assert app.screen is plan_screen
        assert len(open_store().events("INC-1")) == len(events)
        assert len(open_store().list_runs("INC-1")) == 4

    plans = [e for e in events if e.kind == "decision" and "recovery_plan" in e.data]
    assert len(plans) == 1
    finished = [e for e in events if e.kind == "decision" and e.data.get("status") == "done"]
    assert len(finished) == 1
    assert finished[0].data["runs"] == ["RUN-1", "RUN-2", "RUN-3", "RUN-4"]
    assert open_store().verify("INC-1").ok

    # `oncall plan` names the same plan (same digest), and `oncall recover` finds it all done:
    # it runs nothing and adds nothing to the timeline.
    cli_plan = _oncall(workspace, "plan", "INC-1", "--json")
    recorded = dict(plans[0].data)
    assert recorded.pop("recovery_plan") and recorded == json.loads(cli_plan.stdout)
    before = audit_rows(workspace / "data")
    again = _oncall(workspace, "--as", "ana.lima", "recover", "INC-1", "--yes", "--json")
    assert json.loads(again.stdout)["status"] == "done"
    assert again.stderr.count("already done by RUN-") == 4
    assert audit_rows(workspace / "data") == before
    assert len(open_store().events("INC-1")) == len(events)


def _oncall(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        oncall_argv("--workspace", str(workspace), *args),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


async def test_stopping_midway_then_r_continues_where_it_stopped(
    make_app, broken, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        plan_screen = await _open_plan(app, pilot)
        await pilot.press("r")
        await settle(pilot, app)
        await _finish_run(pilot, app)  # step 1 done: step 2 opens
        assert isinstance(app.screen, RunbookRunScreen)
        assert app.screen.runbook_id == "model-rollback"
        await _finish_run(pilot, app, steps=1)  # one of its two steps, then leave
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceScreen)  # "Leave RUN-2 half-done?"
        await pilot.press("l")
        await settle(pilot, app)
        await settle(pilot, app)
        assert app.screen is plan_screen
        assert [s.state for s in plan_screen.steps] == ["done", "unfinished", "to_run", "to_run"]
        text = _notice(plan_screen)
        assert "Recovery stopped at step 2 (model-rollback for demand-forecast)" in text
        assert "RUN-2 is interrupted" in text
        stops = [e for e in open_store().events("INC-1") if e.data.get("step") == 2]
        assert [e.message for e in stops] == [
            "recovery stopped at step 2 (model-rollback for component:default/demand-forecast): "
            "RUN-2 is interrupted; `oncall recover INC-1` continues"
        ]

        await pilot.press("r")  # continues: RUN-2 resumed, not a new run, step 1 not re-run
        await settle(pilot, app)
        assert isinstance(app.screen, RunbookRunScreen)
        assert app.screen.resume_id == "RUN-2"
        assert "resuming RUN-2" in _notice(app.screen)
        while isinstance(app.screen, RunbookRunScreen):
            await _finish_run(pilot, app)
            await settle(pilot, app)
        assert [s.state for s in plan_screen.steps] == ["done"] * 4
    runs = open_store().list_runs("INC-1")
    assert [(r.id, r.runbook_id, r.status) for r in runs] == [
        ("RUN-1", "training-store-partial-load", "done"),
        ("RUN-2", "model-rollback", "done"),
        ("RUN-3", "feed-backout", "done"),
        ("RUN-4", "feed-backout", "done"),
    ]


async def test_assets_no_runbook_recovers_are_shown_with_their_owner_never_skipped(
    make_app, broken, workspace: Path, open_store
) -> None:
    (workspace / "runbooks" / "feed-backout.yaml").unlink()
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        plan_screen = await _open_plan(app, pilot)
        labels = [str(plan_screen.query_one(f"#step-{i + 1}", Static).render()) for i in range(4)]
        assert "3. BY HAND  pricing-feed" in labels[2] and "team-commerce" in labels[2]
        await pilot.press("r")
        await settle(pilot, app)
        while isinstance(app.screen, RunbookRunScreen):
            await _finish_run(pilot, app)
            await settle(pilot, app)
        assert [s.state for s in plan_screen.steps] == ["done", "done", "manual", "manual"]
        text = _notice(plan_screen)
        assert "✔ Recovery plan done: 2 runbook runs (RUN-1, RUN-2)" in text
        assert "Left by hand: pricing-feed (team-commerce); tax-feed (team-commerce)" in text
    finished = [e for e in open_store().events("INC-1") if e.data.get("status") == "manual"]
    assert len(finished) == 1
    assert "left by hand: component:default/pricing-feed (group:default/team-commerce)" in (
        finished[0].message
    )
