"""What a resume keeps from the start, and where a command may run.

A resume refuses a closed incident (as `run` does), reuses the params exactly as the run stored
them (canonical refs, never re-resolved against today's catalog), and a `command` step's `cwd`
cannot leave the workspace.
"""

from __future__ import annotations

import pytest

from runbooks.errors import RunbookError
from runbooks.params import frozen_params
from tests.runbooks.demo_case import DecliningOperator, DemoCase


def test_a_run_of_a_closed_incident_cannot_be_resumed(demo: DemoCase) -> None:
    session = demo.start("model-rollback")
    session.run_step("point-champion")
    session.abandon()
    demo.store.set_status("INC-1", "resolved", actor="erin.walsh")
    with pytest.raises(RunbookError, match=r"INC-1 is resolved; RUN-1 cannot be resumed"):
        demo.resume("RUN-1", operator="erin.walsh")


def test_a_resume_uses_the_params_the_run_stored_not_a_new_resolution(demo: DemoCase) -> None:
    session = demo.start("model-rollback")
    run = demo.store.get_run(session.run_id or "")
    assert run.params["asset"] == "component:default/demand-forecast"
    frozen = frozen_params(session.runbook.spec, run.params, None)  # even with no catalog
    assert frozen.stored == run.params
    assert str(frozen.values["asset"]) == "component:default/demand-forecast"
    assert frozen.values["asset"].name == "demand-forecast"
    session.abandon()
    resumed = demo.resume(run.id, operator="erin.walsh")
    assert resumed.ctx.params.stored == run.params
    assert resumed.run_all().status == "done"


def test_a_command_step_whose_cwd_leaves_the_workspace_fails_without_running(
    demo: DemoCase,
) -> None:
    outside = demo.root.parent / "outside-marker"
    demo.add_runbook(
        f"""\
id: escape
title: Run somewhere else
version: 1
params:
  asset: {{type: asset, required: true}}
steps:
  - id: escape
    title: Escape
    action: {{type: command, cwd: "../", argv: [touch, {outside.name}]}}
""",
        name="escape.yaml",
    )
    report = demo.start("escape", params={"asset": "training-db"}).run_all()
    assert report.status == "failed"
    assert "outside the workspace" in report.steps[0].message
    assert not outside.exists()


def test_a_run_that_stops_part_way_says_what_it_left_changed_and_how_to_go_on(
    demo: DemoCase,
) -> None:
    report = demo.start(
        "training-store-partial-load", yes_destructive=False, prompter=DecliningOperator()
    ).run_all()
    assert report.status == "interrupted"
    assert report.left_changed == (
        "pause-etl (1 row changed)",
        "snapshot-partial (490 rows changed)",
    )
    assert report.next_step == (
        f"continue with `oncall runbook resume {report.run_id}`, or undo those steps by hand"
    )
    closing = demo.store.events("INC-1")[-1]
    assert (
        "left changed: pause-etl (1 row changed), snapshot-partial (490 rows changed)"
        in closing.message
    )
    assert f"`oncall runbook resume {report.run_id}`" in closing.message


def test_a_resume_that_is_not_confirmed_keeps_the_original_failure_reason(
    demo: DemoCase,
) -> None:
    demo.add_runbook(
        """\
id: flaky
title: Fails once
version: 1
params:
  asset: {type: asset, required: true}
steps:
  - id: fail
    title: Fails
    action: {type: command, argv: ["false"]}
""",
        name="flaky.yaml",
    )
    first = demo.start("flaky", params={"asset": "training-db"}).run_all()
    assert first.status == "failed"
    reason = first.steps[0].message
    assert "exited 1" in reason
    again = demo.resume(first.run_id or "", operator="ana.lima", yes=False).run_all()
    assert again.steps[0].message.startswith(reason)
    assert "not retried: step declined" in again.steps[0].message
