"""The engine on the broken demo: recovery, exactly once, dry run, refusals with zero effects."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from runbooks.errors import Fenced, RunbookError
from runbooks.gate import CannotConfirm, NotPermitted
from runbooks.params import ParamError
from runbooks.schema import RunbookInvalid
from runbooks.vetting import NotVetted
from tests.runbooks.demo_case import DecliningOperator, DemoCase

RECOVERY = (
    ("training-store-partial-load", None),
    ("model-rollback", None),
    ("feed-backout", {"asset": "pricing-feed"}),
    ("feed-backout", {"asset": "tax-feed"}),
)


def recover(demo: DemoCase, incident: str = "INC-1") -> list[dict[str, object]]:
    reports = []
    for runbook_id, params in RECOVERY:
        merged = {**demo.params(runbook_id), **(params or {})}
        reports.append(demo.start(runbook_id, params=merged, incident=incident).run_all().as_dict())
    return reports


def assert_consistent(demo: DemoCase) -> None:
    day = demo.day
    source = demo.query("ops.db", "SELECT COUNT(*) FROM orders WHERE day = ?", day)[0][0]
    loads = demo.query("training.db", "SELECT id, status, rows FROM loads WHERE day = ?", day)
    complete = [row for row in loads if row[1] == "complete"]
    assert complete == [(f"reload-{day}-inc-1", "complete", source)]
    assert {row[1] for row in loads} == {"complete", "discarded"}
    assert demo.query("training.db", "SELECT COUNT(*) FROM samples WHERE day = ?", day) == [
        (source,)
    ]
    assert demo.query("training.db", "SELECT COUNT(*) FROM samples_snapshot") == [(490,)]
    assert demo.query("ops.db", "SELECT paused, last_status FROM jobs") == [(0, "succeeded")]
    assert demo.query(
        "registry.db", "SELECT version FROM aliases WHERE model = 'demand-forecast'"
    ) == [(4,)]
    assert demo.query(
        "registry.db", "SELECT version, status FROM model_versions WHERE version = 5"
    ) == [(5, "quarantined")]
    assert demo.query("feeds.db", "SELECT feed, version FROM active_feeds ORDER BY feed") == [
        ("pricing-feed", 4),
        ("tax-feed", 4),
    ]
    assert demo.query(
        "feeds.db", "SELECT COUNT(*) FROM feed_versions WHERE status = 'withdrawn'"
    ) == [(2,)]


def test_the_demo_recovery_leaves_every_database_consistent(demo: DemoCase) -> None:
    reports = recover(demo)
    assert [r["status"] for r in reports] == ["done"] * 4
    for report in reports:
        assert all(s["status"] == "done" and s["effect_count"] == 1 for s in report["steps"])
    assert_consistent(demo)
    assert demo.store.verify("INC-1").ok
    kinds = demo.kinds()
    assert kinds.count("step_started") == kinds.count("step_done") == 11
    assert demo.store.list_leases() == []


def test_running_the_recovery_again_for_the_same_incident_changes_nothing(demo: DemoCase) -> None:
    recover(demo)
    before, audit = demo.db_bytes(), demo.audit()
    again = recover(demo)
    for report in again:
        assert report["status"] == "done"
        for step in report["steps"]:
            assert (step["status"], step["effect_count"]) == ("skipped", 0)
            assert step["message"].startswith("already done (RUN-")
    assert demo.db_bytes() == before
    assert demo.audit() == audit


def test_running_it_again_for_a_new_incident_is_skipped_by_every_check(demo: DemoCase) -> None:
    recover(demo)
    before = demo.db_bytes()
    second = demo.store.open_incident(
        "training-db again?", "resource:default/training-db", actor="x"
    )
    for report in recover(demo, incident=second.id):
        assert [s["status"] for s in report["steps"]] == ["skipped"] * len(report["steps"])
        assert all("desired state already holds" in s["message"] for s in report["steps"])
    assert demo.db_bytes() == before


def test_a_dry_run_leaves_the_databases_byte_identical_and_records_nothing(
    demo: DemoCase,
) -> None:
    before, events = demo.db_bytes(), len(demo.store.events("INC-1"))
    seen: list[object] = []
    for runbook_id, params in RECOVERY:
        merged = {**demo.params(runbook_id), **(params or {})}
        report = demo.start(runbook_id, params=merged, dry_run=True, events=seen).run_all()
        assert report.status == "dry_run" and report.run_id is None
        assert {s.status for s in report.steps} <= {"would_run", "would_skip"}
    assert demo.db_bytes() == before
    assert len(demo.store.events("INC-1")) == events
    assert demo.store.list_runs() == []
    assert demo.store.list_leases() == []
    assert seen, "a dry run still reports what it would do"


def test_an_edited_runbook_is_refused_with_zero_effects_but_can_be_dry_run(
    demo: DemoCase,
) -> None:
    path = demo.root / "runbooks" / "model-rollback.yaml"
    path.write_text(path.read_text() + "\n# an innocent comment\n")
    with pytest.raises(NotVetted, match=r"changed since user:default/hiro.tanaka vetted version 1"):
        demo.start("model-rollback")
    assert demo.store.list_runs() == []
    assert demo.effects() == 0
    assert demo.start("model-rollback", dry_run=True).run_all().status == "dry_run"


def test_an_unlisted_runbook_is_refused(demo: DemoCase) -> None:
    source = demo.root / "runbooks" / "feed-backout.yaml"
    (demo.root / "runbooks" / "feed-backout-copy.yaml").write_text(
        source.read_text().replace("id: feed-backout", "id: feed-backout-copy")
    )
    with pytest.raises(NotVetted, match=r"not in runbooks\.lock"):
        demo.start("feed-backout-copy", params=demo.params("feed-backout"))
    assert demo.effects() == 0


def test_a_malformed_runbook_is_refused_naming_file_and_line(demo: DemoCase) -> None:
    path = demo.root / "runbooks" / "model-rollback.yaml"
    path.write_text(
        path.read_text().replace(
            "  - id: quarantine-bad", "  - id: quarantine-bad\n    frobnicate: yes"
        )
    )
    with pytest.raises(
        RunbookInvalid,
        match=r"model-rollback\.yaml:\d+: step 'quarantine-bad': unknown key 'frobnicate'",
    ):
        demo.start("model-rollback")
    assert demo.effects() == 0 and demo.store.list_runs() == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"asset": "demand-forecast", "since": "2024-06-08", "colour": "red"},
            "no parameter 'colour'",
        ),
        ({"asset": "demand-forecast"}, "needs --param since"),
        (
            {"asset": "training-db", "since": "2024-06-08"},
            "does not apply to resource:default/training-db",
        ),
        ({"asset": "demand-forcast", "since": "2024-06-08"}, "did you mean"),
    ],
)
def test_bad_parameters_are_refused_before_anything_is_recorded(
    demo: DemoCase, params: dict[str, str], message: str
) -> None:
    with pytest.raises(ParamError, match=message):
        demo.start("model-rollback", params=params)
    assert demo.store.list_runs() == [] and demo.effects() == 0


def test_a_run_needs_an_open_incident(demo: DemoCase) -> None:
    with pytest.raises(RunbookError, match="needs --incident"):
        demo.start("model-rollback", incident=None)
    demo.store.set_status("INC-1", "resolved", actor="x")
    with pytest.raises(RunbookError, match="INC-1 is resolved"):
        demo.start("model-rollback")
    assert demo.effects() == 0


def test_yes_alone_never_confirms_a_destructive_step(demo: DemoCase) -> None:
    report = demo.start(
        "training-store-partial-load", yes_destructive=False, prompter=DecliningOperator()
    ).run_all()
    assert report.status == "interrupted"
    statuses = {s.id: s.status for s in report.steps}
    assert statuses["snapshot-partial"] == "done"
    assert statuses["delete-partial"] == "pending"
    assert "declined" in next(s.message for s in report.steps if s.id == "delete-partial")
    assert demo.query("training.db", "SELECT COUNT(*) FROM loads WHERE status = 'partial'") == [
        (4,)
    ]
    assert demo.store.list_leases() == []


def test_a_script_that_cannot_confirm_a_destructive_step_is_refused_before_any_effect(
    demo: DemoCase,
) -> None:
    """`--yes` without `--yes-destructive` and no terminal: refused up front, not after the
    ETL was paused and the partial rows snapshotted."""
    before = demo.db_bytes()
    with pytest.raises(CannotConfirm, match="destructive step delete-partial"):
        demo.start("training-store-partial-load", yes_destructive=False)
    assert demo.db_bytes() == before
    assert demo.store.list_runs() == [] and demo.store.list_leases() == []


def test_a_script_rerun_whose_destructive_step_is_already_done_is_not_refused(
    demo: DemoCase,
) -> None:
    assert demo.start("training-store-partial-load").run_all().status == "done"
    before = demo.effects()
    report = demo.start("training-store-partial-load", yes_destructive=False).run_all()
    assert report.status == "done"
    assert demo.effects() == before


def test_a_destructive_step_needs_an_owner_or_on_call_else_break_glass_decided_before_any_effect(
    demo: DemoCase,
) -> None:
    with pytest.raises(NotPermitted) as refused:
        demo.start("training-store-partial-load", operator="erin.walsh")
    assert (
        "user:default/erin.walsh is neither an owner of nor on call for resource:default/training-db"
        in str(refused.value)
    )
    assert "refused before any step ran, nothing was changed" in str(refused.value)
    assert demo.store.list_runs() == [] and demo.effects() == 0  # nothing paused, nothing run
    with pytest.raises(RunbookError, match="at least a sentence"):
        demo.start("training-store-partial-load", operator="erin.walsh", break_glass="urgent")
    assert demo.store.list_runs() == []
    report = demo.start(
        "training-store-partial-load", operator="erin.walsh", break_glass="ana is unreachable"
    ).run_all()
    assert report.status == "done"
    override = [e for e in demo.store.events("INC-1") if e.kind == "override"]
    assert len(override) == 1 and "ana is unreachable" in override[0].message  # once per run
    assert override[0].actor == "user:default/erin.walsh"
    assert override[0].data["break_glass"] == "ana is unreachable"


def test_a_second_run_on_a_leased_asset_is_refused_with_holder_incident_and_since(
    demo: DemoCase,
) -> None:
    first = demo.start("model-rollback")
    first.run_step("point-champion")
    with pytest.raises(RunbookError) as refused:
        demo.start("model-rollback", operator="hiro.tanaka")
    text = str(refused.value)
    assert "component:default/demand-forecast is leased by user:default/erin.walsh" in text
    assert f"(run {first.run_id} for INC-1)" in text and " since " in text and "--force" in text
    second_run = demo.store.list_runs()[-1]
    assert second_run.status == "failed"
    taken = demo.start("model-rollback", operator="hiro.tanaka", force_reason="erin's laptop died")
    overrides = [e for e in demo.store.events("INC-1") if e.kind == "override"]
    assert (
        "took over the lease on component:default/demand-forecast from user:default/erin.walsh"
        in overrides[0].message
    )
    with pytest.raises(Fenced) as fenced:
        first.run_step("quarantine-bad")
    assert fenced.value.by == "user:default/hiro.tanaka"
    assert str(fenced.value).startswith(f"fenced: {first.run_id} was taken over by ")
    assert demo.query(
        "registry.db", "SELECT COUNT(*) FROM model_versions WHERE status = 'quarantined'"
    ) == [(0,)]
    assert taken.run_all().status == "done"


def test_a_value_full_of_sql_shell_and_template_syntax_stays_a_value(demo: DemoCase) -> None:
    evil = "x'); DROP TABLE jobs; -- $(touch pwned) `id` {{ 7*7 }} {% raw %}"
    demo.add_runbook(
        """\
id: note-status
title: Note a status
version: 1
params:
  note: {type: string, required: true}
steps:
  - id: store
    title: Store {{ note }}
    assets: [nightly-etl]
    action: {type: sql, connection: ops_db, statement: "UPDATE jobs SET last_status = :v", params: {v: "{{ note }}"}}
  - id: echo
    title: Echo it
    assets: [nightly-etl]
    action: {type: command, argv: [python3, -c, "import sys; print(sys.argv[1])", "{{ params.note }}"]}
"""
    )
    report = demo.start("note-status", params={"note": evil}).run_all()
    assert report.status == "done"
    assert demo.query("ops.db", "SELECT last_status FROM jobs") == [(evil,)]
    assert not (demo.root / "pwned").exists()
    started = [
        e for e in demo.store.events("INC-1") if e.kind == "step_done" and e.data["step"] == "echo"
    ]
    assert started[0].data["output"]["stdout"].strip() == evil


def test_a_template_reaching_for_python_internals_fails_the_step_with_zero_effects(
    demo: DemoCase,
) -> None:
    demo.add_runbook(
        """\
id: sneaky
title: Sneaky
version: 1
params:
  asset: {type: asset, required: true}
steps:
  - id: peek
    title: Peek
    action: {type: sql, connection: ops_db, statement: "UPDATE jobs SET last_status = :v", params: {v: "{{ asset.__class__.__mro__ }}"}}
"""
    )
    report = demo.start("sneaky", params={"asset": "nightly-etl"}).run_all()
    assert report.status == "failed"
    assert "forbidden in a runbook template" in report.steps[0].message
    assert demo.effects() == 0


def test_retries_then_on_failure_continue_and_verify(demo: DemoCase) -> None:
    counter = demo.root / "attempts"
    demo.add_runbook(
        f"""\
id: flaky
title: Flaky
version: 1
steps:
  - id: second-time-lucky
    title: Fails once
    assets: [nightly-etl]
    retries: 2
    action:
      type: command
      argv: [python3, -c, "import pathlib,sys; p=pathlib.Path(sys.argv[1]); n=int(p.read_text() if p.exists() else 0)+1; p.write_text(str(n)); sys.exit(0 if n >= 2 else 'not yet')", "{counter}"]
  - id: always-fails
    title: Always fails
    assets: [nightly-etl]
    on_failure: continue
    action: {{type: command, argv: [python3, -c, "import sys; sys.exit('broken')"]}}
  - id: unverified
    title: Verify says no
    assets: [nightly-etl]
    action: {{type: command, argv: [python3, -c, "print('ok')"]}}
    verify: {{type: sql, connection: ops_db, statement: "SELECT paused FROM jobs", expect: 1}}
"""
    )
    report = demo.start("flaky", retry_backoff=0.0).run_all()
    assert counter.read_text() == "2"
    steps = {s.id: s for s in report.steps}
    assert steps["second-time-lucky"].status == "done"
    assert steps["always-fails"].status == "failed" and "broken" in steps["always-fails"].message
    assert steps["unverified"].status == "failed"
    assert "verify failed after the effect" in steps["unverified"].message
    assert report.status == "failed"
    failures = [e for e in demo.store.events("INC-1") if e.kind == "step_failed"]
    assert [e.data["step"] for e in failures] == ["second-time-lucky", "always-fails", "unverified"]
    assert failures[0].data["retrying"] is True


def test_an_in_doubt_step_without_a_check_is_settled_by_the_operator_on_the_timeline(
    demo: DemoCase,
) -> None:
    demo.add_runbook(
        """\
id: tell
title: Tell people
version: 1
steps:
  - id: announce
    title: Announce
    assets: [nightly-etl]
    action: {type: notify, message: "we are on it"}
"""
    )
    session = demo.start("tell")
    rendered = session.render("announce").action
    demo.store.ledger_intent(rendered.key, session.run_id, "INC-1", "announce", rendered.as_dict())
    session.abandon()
    demo.store.release_lease("component:default/nightly-etl", session.run_id)
    stopped = demo.resume(session.run_id).run_all()
    assert stopped.status == "failed" and stopped.steps[0].status == "in_doubt"
    settled = demo.resume(session.run_id, in_doubt="done").run_all()
    assert settled.status == "done"
    assert (settled.steps[0].status, settled.steps[0].effect_count) == ("done", 0)
    decisions = [e.message for e in demo.store.events("INC-1") if e.kind == "decision"]
    assert any("answered: it took effect; not repeated" in m for m in decisions)
    assert any("answered: unknown; stop here" in m for m in decisions)


def test_a_run_resumes_only_with_the_runbook_it_started_with(demo: DemoCase) -> None:
    session = demo.start("model-rollback")
    session.run_step("point-champion")
    session.abandon()
    path = demo.root / "runbooks" / "model-rollback.yaml"
    path.write_text(path.read_text().replace("version: 1", "version: 2"))
    demo.add_runbook(path.read_text(), name="model-rollback.yaml")
    with pytest.raises(RunbookError, match=r"ran model-rollback v1 .* now v2"):
        demo.resume(session.run_id)


def test_the_session_can_be_driven_step_by_step(demo: DemoCase) -> None:
    session = demo.start("feed-backout")
    plan = session.plan()
    assert [s.id for s in plan] == ["restore-active", "withdraw-window"]
    assert (
        plan[0].title
        == "Make pricing-feed's last version before 2024-06-08T02:00:00+00:00 active again"
    )
    shown = session.render("restore-active")
    assert ":feed = 'pricing-feed'" in shown.action.text and shown.check is not None
    assert shown.assets == ("component:default/pricing-feed",)
    step = session.next_step()
    assert step is not None and step.id == "restore-active"
    session.run_step(step.id)
    session.skip_step("withdraw-window", "commerce will do it")
    assert session.next_step() is None
    report = session.finish()
    assert report.status == "done"
    assert [s.status for s in report.steps] == ["done", "skipped"]
    assert demo.query(
        "feeds.db", "SELECT COUNT(*) FROM feed_versions WHERE status = 'withdrawn'"
    ) == [(0,)]


def test_a_declined_destructive_step_confirmed_later_lets_the_run_finish_done(
    demo: DemoCase,
) -> None:
    session = demo.start(
        "training-store-partial-load", yes_destructive=False, prompter=DecliningOperator()
    )
    while (state := session.next_step()) is not None:
        if session.run_step(state.id).stop:
            break
    assert state is not None and state.id == "delete-partial"
    assert session.next_step() is None  # stopped there
    assert session.run_step("delete-partial", confirmed=True).state.status == "done"
    while (state := session.next_step()) is not None:
        session.run_step(state.id)
    report = session.finish()
    assert report.status == "done"
    assert [s.status for s in report.steps] == ["done"] * 5


FLAKY_THEN_TITLED = """\
id: needs-a-file
title: Needs a file
version: 1
steps:
  - id: check-file
    title: Look for {{{{ params.name }}}}
    assets: [nightly-etl]
    on_failure: stop
    action:
      type: command
      argv: [python3, -c, "import pathlib,sys; p=pathlib.Path(sys.argv[1]); sys.stdout.write(p.read_text()) if p.exists() else sys.exit('missing')", "{path}"]
  - id: announce
    title: Announce {{{{ steps.check_file.output.stdout }}}}
    assets: [nightly-etl]
    action: {{type: command, argv: [python3, -c, "print('ok')"]}}
params:
  name: {{type: string, required: true}}
"""


def test_a_failed_step_that_succeeds_on_retry_lets_the_run_finish_done(demo: DemoCase) -> None:
    marker = demo.root / "marker"
    demo.add_runbook(FLAKY_THEN_TITLED.format(path=marker))
    session = demo.start("needs-a-file", params={"name": "the marker"})
    failed = session.run_step("check-file")
    assert failed.stop and failed.state.status == "failed"
    assert session.next_step() is None
    marker.write_text("ready", encoding="utf-8")
    assert session.run_step("check-file").state.status == "done"
    assert session.next_step() is not None
    session.run_step("announce")
    report = session.finish()
    assert report.status == "done"
    assert [(s.status, s.effect_count) for s in report.steps] == [("done", 1), ("done", 1)]


def test_step_titles_are_rendered_in_the_sandbox_once_their_values_exist(demo: DemoCase) -> None:
    marker = demo.root / "marker"
    marker.write_text("the-load", encoding="utf-8")
    demo.add_runbook(FLAKY_THEN_TITLED.format(path=marker))
    session = demo.start("needs-a-file", params={"name": "the marker"})
    assert session.render("check-file").title == "Look for the marker"
    waiting = session.plan()[1].title
    assert waiting == "Announce {{ steps.check_file.output.stdout }}"  # no output yet
    with pytest.raises(RunbookError, match="step 'announce'"):
        session.render("announce")
    session.run_step("check-file")
    assert session.plan()[1].title == "Announce the-load"
    assert session.render("announce").title == "Announce the-load"
    session.run_step("announce")
    started = [e.message for e in demo.store.events("INC-1") if e.kind == "step_started"]
    assert started[-2:] == ["check-file: Look for the marker", "announce: Announce the-load"]


def test_who_is_on_call_for_a_destructive_step_is_read_from_the_sessions_clock(
    demo: DemoCase, tmp_path: Path
) -> None:
    from datetime import datetime

    from graph.loader import load_catalog
    from tests.conftest import DEMO_WORKSPACE

    catalog_dir = tmp_path / "catalog"
    shutil.copytree(DEMO_WORKSPACE / "catalog", catalog_dir)
    rotations = catalog_dir / "rotations.yaml"
    holiday = '    - {user: ben.okafor, from: "2026-12-24T18:00:00+01:00"'
    cover = '    - {user: erin.walsh, from: "2024-06-08T12:00:00+00:00", to: "2024-06-08T18:00:00+00:00"}\n'
    text = rotations.read_text(encoding="utf-8")
    assert holiday in text
    rotations.write_text(text.replace(holiday, cover + holiday), encoding="utf-8")
    demo.catalog = load_catalog([catalog_dir])  # erin (team-ml) covers team-data 12:00-18:00

    def at(text: str) -> Callable[[], datetime]:
        return lambda: datetime.fromisoformat(text)

    with pytest.raises(NotPermitted, match="neither an owner of nor on call"):
        demo.start(
            "training-store-partial-load",
            operator="erin.walsh",
            clock=at("2024-06-08T19:00:00+00:00"),
        )
    inside = demo.start(
        "training-store-partial-load", operator="erin.walsh", clock=at("2024-06-08T14:00:00+00:00")
    ).run_all()
    assert inside.status == "done"
    (confirmed,) = [
        e
        for e in demo.store.events("INC-1")
        if e.kind == "decision" and e.data.get("confirmed") and e.data["run"] == inside.run_id
    ]
    assert confirmed.data["step"] == "delete-partial"
    assert confirmed.data["permission"] == "owner or on call"  # not break-glass


def test_a_resume_forced_past_a_run_alive_elsewhere_records_one_override_with_the_reason(
    demo: DemoCase,
) -> None:
    from runbooks.leasing import RunStillActive

    session = demo.start("model-rollback")
    session.run_step("point-champion")
    assets = session.changed_assets()
    session.abandon()
    for asset in assets:  # as if the run lived on, on erin's laptop
        demo.store.acquire_lease(
            asset, session.actor, "INC-1", session.run_id, 3600, "laptop-2 pid 77"
        )
    with pytest.raises(RunStillActive, match="may still be running on laptop-2 pid 77"):
        demo.resume(session.run_id, operator="hiro.tanaka")
    assert not [e for e in demo.store.events("INC-1") if e.kind == "override"]
    taken = demo.resume(
        session.run_id, operator="hiro.tanaka", force_reason="erin's laptop is shut"
    )
    (override,) = [e for e in demo.store.events("INC-1") if e.kind == "override"]
    assert override.actor == "user:default/hiro.tanaka"
    assert f"took over {session.run_id}, which may still be running on laptop-2 pid 77" in (
        override.message
    )
    assert override.message.endswith(": erin's laptop is shut")
    assert override.data["reason"] == "erin's laptop is shut"
    assert override.data["assets"] == assets
    assert taken.run_all().status == "done"
