"""Checks before confirmations: "already done" before a run starts, steps with nothing to do
settled without asking, break-glass asked once with whom to call instead."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from runbooks.already_done import already_done
from runbooks.engine import StepState
from runbooks.gate import NotPermitted
from runbooks.permissions import BreakGlassRequest
from runbooks.prompts import Settlement
from tests.runbooks.demo_case import DemoCase

RUNBOOK = "training-store-partial-load"


class RecordingPrompter:
    """Answers like an operator would, and remembers every question it was asked."""

    def __init__(self, *, destructive: bool = True, reason: str | None = None) -> None:
        self.destructive = destructive
        self.reason = reason
        self.asked: list[str] = []
        self.requests: list[BreakGlassRequest] = []
        self.previews: list[str | None] = []

    def confirm_step(self, step: StepState, text: str) -> bool:
        self.asked.append(f"confirm {step.id}")
        return True

    def confirm_destructive(self, step: StepState, assets: Sequence[str], text: str) -> bool:
        self.asked.append(f"destructive {step.id}")
        self.previews.append(step.preview.text if step.preview else None)
        return self.destructive

    def can_confirm_destructive(self) -> bool:
        return True  # an operator at the keyboard

    def confirm_manual(self, step: StepState, instruction: str) -> bool:
        self.asked.append(f"manual {step.id}")
        return True

    def settle_in_doubt(self, step: StepState, text: str) -> Settlement:
        self.asked.append(f"in doubt {step.id}")
        return "stop"

    def break_glass(self, request: BreakGlassRequest) -> str | None:
        self.asked.append("break glass")
        self.requests.append(request)
        return self.reason

    def say(self, text: str) -> None:
        pass


def _done(  # type: ignore[no-untyped-def]
    demo: DemoCase, params: dict[str, str] | None = None, incident: str = "INC-1"
):
    return already_done(
        store=demo.store,
        env=demo.env,
        catalog=demo.catalog,
        runbook_id=RUNBOOK,
        incident_id=incident,
        params=params if params is not None else demo.params(RUNBOOK),
        operator="ana.lima",
    )


def test_a_recovery_with_work_to_do_is_not_already_done_and_asking_changes_nothing(
    demo: DemoCase,
) -> None:
    events = len(demo.store.events("INC-1"))
    assert _done(demo) is None
    assert demo.store.list_runs() == [] and len(demo.store.events("INC-1")) == events
    assert demo.effects() == 0


def test_a_finished_run_with_the_same_parameters_is_named_before_a_second_start(
    demo: DemoCase,
) -> None:
    assert demo.start(RUNBOOK).run_all().status == "done"
    done = _done(demo)
    assert done is not None and done.run_id == "RUN-1" and done.same_params
    assert done.headline().startswith(
        "already done by RUN-1: it ran training-store-partial-load for training-db with the "
        "same parameters and finished at"
    )
    # Only the asset known (the form is not filled in yet): still RUN-1, without the claim.
    partial = _done(demo, {"asset": "training-db"})
    assert partial is not None and partial.run_id == "RUN-1" and not partial.same_params
    # Another day is another recovery: RUN-1 did not do it (and its checks decide).
    other = _done(demo, {**demo.params(RUNBOOK), "day": "2024-06-01"})
    assert other is None or other.run_id is None


def test_every_check_holding_is_already_done_without_any_run(demo: DemoCase) -> None:
    assert demo.start(RUNBOOK).run_all().status == "done"
    # A second incident on the same store: no run of its own, and its steps' keys are new.
    second = demo.store.open_incident("Row counts again", "resource:default/training-db", actor="x")
    done = _done(demo, incident=second.id)
    assert done is not None and done.run_id is None
    assert done.headline() == (
        "already done: every step of training-store-partial-load for training-db is done or "
        "its check holds"
    )
    assert [line.split(":")[0] for line in done.settled] == [
        "pause-etl",
        "snapshot-partial",
        "delete-partial",
        "reload",
        "resume-etl",
    ]


def test_a_destructive_step_whose_check_holds_is_skipped_without_asking_anything(
    demo: DemoCase,
) -> None:
    assert demo.start(RUNBOOK).run_all().status == "done"
    prompter = RecordingPrompter()
    session = demo.start(RUNBOOK, prompter=prompter, yes=False, yes_destructive=False)
    for state in session.plan():
        outcome = session.skip_if_done(state.id)
        assert outcome is not None and outcome.state.status == "skipped", state.id
    assert prompter.asked == []  # nothing was asked: not even the asset's name
    assert session.finish().status == "done"


def test_skip_if_done_leaves_a_step_that_must_act_untouched_and_run_step_asks_after_the_check(
    demo: DemoCase,
) -> None:
    prompter = RecordingPrompter(destructive=False)
    session = demo.start(RUNBOOK, prompter=prompter, yes=False, yes_destructive=False)
    assert session.skip_if_done("pause-etl") is None  # the ETL is not paused: it must act
    assert session.states["pause-etl"].status == "pending" and prompter.asked == []
    session.run_step("pause-etl", confirmed=True)
    session.run_step("snapshot-partial", confirmed=True)
    assert session.skip_if_done("delete-partial") is None
    outcome = session.run_step("delete-partial")  # the check first, then the typed question
    assert prompter.asked == ["destructive delete-partial"]
    assert prompter.previews == ["deletes 490 rows of 4 loads"]
    assert outcome.stop and outcome.state.status == "pending"
    assert demo.query("training.db", "SELECT COUNT(*) FROM loads WHERE status = 'partial'") == [
        (4,)
    ]


def test_break_glass_is_asked_once_up_front_naming_the_owner_and_who_is_on_call(
    demo: DemoCase,
) -> None:
    refused = RecordingPrompter(reason=None)
    with pytest.raises(NotPermitted) as why:
        demo.start(RUNBOOK, operator="erin.walsh", prompter=refused)
    assert "--break-glass" not in str(why.value)  # the app shows this text too
    assert refused.asked == ["break glass"] and demo.store.list_runs() == []
    (request,) = refused.requests
    assert "--break-glass" not in request.denial()
    assert request.min_reason == 15
    (contact,) = request.contacts
    assert contact.asset == "resource:default/training-db"
    assert contact.owner == "group:default/team-data"
    assert contact.on_call is not None
    assert contact.line().startswith("training-db: owned by team-data; on call now: ")
    agreed = RecordingPrompter(reason="ana is unreachable since 3 AM")
    report = demo.start(RUNBOOK, operator="erin.walsh", prompter=agreed).run_all()
    assert report.status == "done"
    assert agreed.asked.count("break glass") == 1


def test_the_run_named_is_the_one_that_did_the_work_not_a_later_repeat(demo: DemoCase) -> None:
    assert demo.start(RUNBOOK).run_all().status == "done"
    repeat = demo.start(RUNBOOK).run_all()  # RUN-2 only skips: already done by RUN-1
    assert repeat.status == "done" and all(s.effect_count == 0 for s in repeat.steps)
    done = _done(demo)
    assert done is not None and done.run_id == "RUN-1"
    partial = _done(demo, {"asset": "training-db"})
    assert partial is not None and partial.run_id == "RUN-1"
