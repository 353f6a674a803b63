"""The draft built from a real store and a real catalog: every section from recorded facts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from postmortems.build import build_draft
from postmortems.render import choose_template, render_markdown
from tests.postmortems.mdparse import parse
from tests.postmortems.scenario import (
    ALICE,
    BOB,
    T0,
    TRAINING_DB,
    TRICKY_NOTE,
    open_store,
    record_incident,
    small_catalog,
)

SECTIONS = [
    "Summary",
    "Impact",
    "Timeline",
    "Detection and response",
    "Metrics",
    "Root cause",
    "Lessons",
    "Action items",
]


@pytest.fixture
def recorded(database_url: str):
    store, clock = open_store(database_url)
    incident_id = record_incident(store, clock)
    yield store, incident_id
    store.close()


def test_the_draft_has_every_section_and_one_timeline_row_per_event(recorded) -> None:
    store, incident_id = recorded
    draft = build_draft(store, small_catalog(), incident_id, now=T0 + timedelta(days=1))
    doc = parse(render_markdown(draft, choose_template(None, None)))

    assert doc.titles(1) == ["Postmortem: INC-1 — Training DB: 4 partial loads | retrain"]
    assert doc.titles(2) == SECTIONS
    [timeline] = doc.tables_under("Timeline")
    events = store.events(incident_id)
    assert timeline.header == ["Time (UTC)", "Actor", "Event", "What"]
    assert len(timeline.rows) == len(events)
    for row, event in zip(timeline.rows, events, strict=True):
        assert row == [
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.actor,
            event.kind,
            event.message,
        ]
    assert TRICKY_NOTE in timeline.column("What")


def test_impact_groups_the_blast_radius_by_type_with_owners(recorded) -> None:
    store, incident_id = recorded
    draft = build_draft(store, small_catalog(), incident_id)
    impact = draft.impact
    assert impact.source is not None and impact.source.ref == TRAINING_DB
    assert [g.label for g in impact.groups] == ["Feature stores", "Models", "Feeds", "Dashboards"]
    assert impact.total == 4
    assert impact.models == ("component:default/demand-forecast",)
    assert impact.feeds == ("component:default/pricing-feed",)

    doc = parse(render_markdown(draft, choose_template(None, None)))
    [models] = doc.tables_under("Models (1)")
    assert models.rows == [
        [
            "demand-forecast component:default/demand-forecast",
            "2",
            "ML | models",
            "training-db → feature-store → demand-forecast",
        ]
    ]
    [feeds] = doc.tables_under("Feeds (1)")
    assert feeds.column("Owner") == ["no owner in the catalog"]


def test_impact_lasts_from_the_reported_start_to_mitigation(recorded) -> None:
    store, incident_id = recorded
    draft = build_draft(store, small_catalog(), incident_id)
    incident = store.get_incident(incident_id)
    duration = draft.impact.duration
    assert duration.start_basis == "began" and duration.end_basis == "mitigated"
    assert duration.end == incident.mitigated_at
    assert duration.seconds == (incident.mitigated_at - duration.start).total_seconds()
    assert duration.start.isoformat() == "2024-05-04T01:30:00+00:00"


def test_metrics_come_from_the_status_times_and_the_first_alert(recorded) -> None:
    store, incident_id = recorded
    incident = store.get_incident(incident_id)
    metrics = {m.key: m for m in build_draft(store, small_catalog(), incident_id).metrics}
    fired = T0 - timedelta(minutes=5)  # the alert's fired_at precedes the opening
    assert metrics["ttd"].seconds == (fired - T0.replace(hour=1, minute=30)).total_seconds()
    assert metrics["tta"].seconds == (incident.acknowledged_at - fired).total_seconds()
    assert metrics["ttm"].seconds == (incident.mitigated_at - fired).total_seconds()
    assert metrics["ttr"].seconds == (incident.resolved_at - fired).total_seconds()


def test_an_unresolved_incident_says_its_resolve_time_is_unknown(database_url: str) -> None:
    store, clock = open_store(database_url)
    try:
        incident_id = record_incident(store, clock, resolve=False)
        draft = build_draft(store, small_catalog(), incident_id)
    finally:
        store.close()
    doc = parse(render_markdown(draft, choose_template(None, None)))
    [metrics] = doc.tables_under("Metrics")
    ttr = next(row for row in metrics.rows if row[0] == "Time to resolve (TTR)")
    assert ttr[1] == "unknown"
    assert ttr[4] == "unknown: the incident has not been resolved"


def test_response_shows_each_step_that_ran_was_skipped_or_failed_and_by_whom(recorded) -> None:
    store, incident_id = recorded
    draft = build_draft(store, small_catalog(), incident_id)
    first, second = draft.runs
    steps = {s.step_id: s for s in first.steps}
    assert (steps["pause-etl"].state, steps["pause-etl"].actor) == ("done", ALICE)
    assert steps["check-backups"].manual and steps["check-backups"].state == "done"
    retried = steps["delete-partial"]
    assert (retried.state, retried.actor, retried.failures) == ("done", BOB, 1)
    assert retried.last_error == "database is locked"
    [skipped] = second.steps
    assert (skipped.state, skipped.detail) == ("skipped", "already done in RUN-1")

    doc = parse(render_markdown(draft, choose_template(None, None)))
    assert doc.titles(4) == [
        "RUN-1: runbook training-store-partial-load v3",
        "RUN-2: runbook training-store-partial-load v3",
    ]
    run_tables = [t for t in doc.tables if t.header[:2] == ["Step", "Outcome"]]
    assert run_tables[0].column("Outcome") == [
        "ran",
        "ran (manual)",
        "ran (after 1 failed attempt)",
    ]
    assert run_tables[0].column("By") == [ALICE, ALICE, BOB]
    assert run_tables[1].rows[0][1:2] == ["skipped"]
    assert run_tables[1].rows[0][4] == "already done in RUN-1"


def test_action_items_are_seeded_from_failures_manual_steps_overrides_and_the_catalog(
    recorded,
) -> None:
    store, incident_id = recorded
    draft = build_draft(store, small_catalog(), incident_id)
    items = {(a.source, a.asset): a for a in draft.action_items}
    sources = sorted(a.source for a in draft.action_items)
    assert sources == [
        "break-glass",
        "catalog-problem",
        "catalog-problem",
        "failed-step",
        "lease-override",
        "manual-step",
    ]
    failed = items[("failed-step", TRAINING_DB)]
    assert (
        "database is locked" in failed.what and failed.proposed_owner == "group:default/team-data"
    )
    assert "owner unreachable | 3 AM" in items[("break-glass", TRAINING_DB)].what
    assert items[("lease-override", TRAINING_DB)].reference is not None
    unowned = items[("catalog-problem", "component:default/pricing-feed")]
    assert unowned.proposed_owner == "group:default/team-commerce"  # the owner of its system
    dangling = items[("catalog-problem", "component:default/forecast-dashboard")]
    assert "gone-db" in dangling.what and dangling.proposed_owner == "group:default/team-ml"

    doc = parse(render_markdown(draft, choose_template(None, None)))
    [table] = doc.tables_under("Action items")
    assert table.header == ["#", "Action", "Asset", "Proposed owner", "Source"]
    assert [row[0] for row in table.rows] == [str(i) for i in range(1, 7)]


def test_people_appear_only_as_actors_never_as_owners_of_action_items(recorded) -> None:
    store, incident_id = recorded
    draft = build_draft(store, small_catalog(), incident_id)
    for item in draft.action_items:
        assert item.proposed_owner is None or item.proposed_owner.startswith("group:")
        assert "alice" not in item.what and "bob" not in item.what


def test_the_footer_says_the_chain_verified_and_says_so_loudly_when_it_did_not(
    recorded, database_url: str
) -> None:
    store, incident_id = recorded
    draft = build_draft(store, small_catalog(), incident_id)
    assert draft.chain.ok and draft.chain.count == len(store.events(incident_id))
    assert "hash chain of all" in render_markdown(draft, choose_template(None, None))

    with store.engine.begin() as conn:  # tamper the way an attacker would: past the triggers
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS events_no_update"))
            triggers = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='events'")
            ).scalars()
            for name in list(triggers):
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        else:
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE events SET message = 'nothing to see' WHERE seq = 3"))
    broken = build_draft(store, small_catalog(), incident_id)
    assert not broken.chain.ok and broken.chain.first_bad == 3
    assert any(a.source == "chain-broken" for a in broken.action_items)
    markdown = render_markdown(broken, choose_template(None, None))
    assert "the hash chain did NOT verify" in markdown and "#3" in markdown


def test_json_is_the_same_content_as_data(recorded) -> None:
    store, incident_id = recorded
    draft = build_draft(store, small_catalog(), incident_id)
    data = json.loads(json.dumps(draft.to_dict()))
    assert data["schema"] == "oncall.postmortem/v1"
    assert data["incident"]["id"] == incident_id
    assert len(data["timeline"]) == len(store.events(incident_id))
    assert data["timeline"][0]["at"].endswith("+00:00")
    assert data["runs"][0]["counts"] == {"done": 3}
    assert [m["key"] for m in data["metrics"]] == ["ttd", "tta", "ttm", "ttr"]
    assert data["chain"]["ok"] is True


def test_an_asset_missing_from_the_catalog_gives_an_empty_blast_radius_that_says_why(
    sqlite_url: str,
) -> None:
    store, _clock = open_store(sqlite_url)
    try:
        incident = store.open_incident("Mystery", "resource:default/nowhere", actor=ALICE)
        draft = build_draft(store, small_catalog(), incident.id)
    finally:
        store.close()
    assert draft.impact.source is None and draft.impact.total == 0
    assert "not in the catalog" in (draft.impact.source_missing or "")
    assert draft.runs == () and draft.action_items == ()
    doc = parse(render_markdown(draft, choose_template(None, None)))
    assert "No runbook was run against this incident." in doc.text_under("Response")
    assert "Nothing was seeded" in doc.text_under("Action items")


def test_a_step_started_in_a_run_that_ended_is_in_doubt_and_seeds_an_action_item(
    sqlite_url: str,
) -> None:
    store, _clock = open_store(sqlite_url)
    try:
        incident = store.open_incident("Crash mid-step", TRAINING_DB, actor=ALICE)
        run = store.create_run(incident.id, "rb", 1, "0" * 64, {"asset": TRAINING_DB}, ALICE)
        store.ledger_intent(
            "k1", run.id, incident.id, "delete-partial", {"action": {"type": "sql"}}
        )
        store.set_run_status(run.id, "interrupted")
        draft = build_draft(store, small_catalog(), incident.id)
    finally:
        store.close()
    [step] = draft.runs[0].steps
    assert (step.step_id, step.state, step.actor) == ("delete-partial", "in_doubt", ALICE)
    [item] = [a for a in draft.action_items if a.source == "failed-step"]
    assert "took effect" in item.what and item.proposed_owner == "group:default/team-data"


def test_an_unowned_asset_the_catalog_did_not_warn_about_gets_an_owner_action_item(
    sqlite_url: str,
) -> None:
    catalog = small_catalog()
    catalog.problems.clear()  # e.g. a lineage dataset: no descriptor, so no warning either
    store, _clock = open_store(sqlite_url)
    try:
        incident = store.open_incident("Feed stale", TRAINING_DB, actor=ALICE)
        draft = build_draft(store, catalog, incident.id)
    finally:
        store.close()
    [item] = [a for a in draft.action_items if a.source == "missing-owner"]
    assert item.asset == "component:default/pricing-feed"
    assert item.proposed_owner == "group:default/team-commerce"
    assert "owner of system commerce" in item.owner_basis


def test_steps_settled_by_hand_or_not_run_are_shown_so_and_blamelessly(sqlite_url: str) -> None:
    store, _clock = open_store(sqlite_url)
    try:
        incident = store.open_incident("Settled by hand", TRAINING_DB, actor=ALICE)
        run = store.create_run(incident.id, "rb", 1, "0" * 64, {"asset": TRAINING_DB}, ALICE)
        data = {"run": run.id, "runbook": "rb"}
        store.append_event(
            incident.id,
            "decision",
            f"reload: {ALICE} marked it done by hand: reloaded from the console",
            ALICE,
            {**data, "step": "reload", "settled": "operator", "reason": "from the console"},
        )
        store.append_event(
            incident.id,
            "decision",
            "wipe: not run: destructive step declined",
            ALICE,
            {**data, "step": "wipe", "stopped": "destructive step declined"},
        )
        store.set_run_status(run.id, "interrupted")
        draft = build_draft(store, small_catalog(), incident.id)
    finally:
        store.close()
    steps = {s.step_id: s for s in draft.runs[0].steps}
    assert (steps["reload"].state, steps["reload"].by_hand) == ("done", True)
    assert (steps["wipe"].state, steps["wipe"].detail) == ("stopped", "destructive step declined")
    [item] = [a for a in draft.action_items if a.source == "manual-step"]
    assert "reload" in item.what and "alice" not in item.what
    doc = parse(render_markdown(draft, choose_template(None, None)))
    [table] = [t for t in doc.tables if t.header[:2] == ["Step", "Outcome"]]
    assert table.column("Outcome") == ["ran (by hand)", "not run"]


def test_a_page_is_told_under_detection_and_never_listed_as_a_runbook_run(recorded) -> None:
    store, incident_id = recorded
    page_run = store.create_run(
        incident_id, "oncall:page", 1, "0" * 64, {"to": [BOB]}, ALICE, kind="page"
    )
    store.append_event(incident_id, "page", "paged Bob (printed)", ALICE, {"run": page_run.id})
    draft = build_draft(store, small_catalog(), incident_id)
    assert page_run.id not in [run.id for run in draft.runs]
    assert [row.what for row in draft.detection.pages][-1] == "paged Bob (printed)"
