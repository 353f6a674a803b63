"""The alert intake without HTTP: parsing Alertmanager's webhook, placing alerts on assets, and
recording them (deduplicated, never closing anything) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.loader import load_catalog
from graph.model import Catalog
from incidents.alerts import NO_ASSET
from incidents.store import Store
from intake.alerts import (
    AlertIntake,
    AssetMapper,
    parse_selector,
    parse_webhook,
    severity_for,
    severity_map,
)
from intake.errors import BadPayload, IntakeConfigError
from tests.intake.conftest import make_workspace
from workspace.discovery import open_workspace

STARTS = "2026-12-03T03:00:00.123456789Z"


def alert(
    name: str = "TrainingLoadFailed",
    status: str = "firing",
    fingerprint: str = "f1",
    starts: str = STARTS,
    **labels: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} went off"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint,
    }


def webhook(*alerts: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}:{alertname="TrainingLoadFailed"}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "oncall",
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager",
            "alerts": list(alerts),
        }
    ).encode()


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    root = make_workspace(tmp_path_factory.mktemp("intake") / "ws")
    ws = open_workspace(root)
    return load_catalog(ws.catalog_paths, ws.lineage_paths)


@pytest.fixture(scope="module")
def mapper(catalog: Catalog) -> AssetMapper:
    return AssetMapper(
        catalog, {"job": {"nightly-etl": "nightly-etl"}, "dataset": {"features": "feature-store"}}
    )


@pytest.fixture
def intake(database_url: str, mapper: AssetMapper) -> Iterator[AlertIntake]:
    store = Store.open(database_url)
    try:
        yield AlertIntake(store, mapper, severity_map({}))
    finally:
        store.close()


# -- parsing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "payload must be a JSON object"),
        ({"version": "3", "alerts": []}, "unknown payload version '3'"),
        ({"alerts": []}, "unknown payload version None"),
        ({"version": "4", "alerts": {}}, "alerts: must be a list"),
        ({"version": "4", "alerts": [alert(status="pending")]}, "alerts[0].status: 'pending'"),
        (
            {"version": "4", "alerts": [{**alert(), "labels": {"alertname": 3}}]},
            "alerts[0].labels: must be an object of strings",
        ),
        (
            {"version": "4", "alerts": [{**alert(), "labels": {}}]},
            "alerts[0].labels: has no alertname",
        ),
        (
            {"version": "4", "alerts": [alert(starts="yesterday")]},
            "alerts[0].startsAt: 'yesterday'",
        ),
        ({"version": "4", "alerts": [alert(starts="2026-12-03T03:00:00")]}, "has no time zone"),
    ],
)
def test_a_payload_that_is_not_a_version_4_webhook_is_refused_naming_where(
    payload: Any, reason: str
) -> None:
    with pytest.raises(BadPayload) as caught:
        parse_webhook(payload)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_nanosecond_times_and_a_missing_fingerprint_are_accepted() -> None:
    raw = alert()
    del raw["fingerprint"]
    hook = parse_webhook(json.loads(webhook(raw)))
    (parsed,) = hook.alerts
    assert parsed["startsAt"].isoformat() == "2026-12-03T03:00:00.123456+00:00"
    assert parsed["endsAt"].year == 1
    again = parse_webhook(json.loads(webhook(raw))).alerts[0]
    assert parsed["fingerprint"] == again["fingerprint"]
    assert parsed["fingerprint"].startswith("labels:")


# -- placing alerts on assets -----------------------------------------------------------------------


def test_the_asset_label_names_the_asset_by_ref_or_unique_name(mapper: AssetMapper) -> None:
    assert mapper.place({"alertname": "X", "asset": "training-db"}).asset == (
        "resource:default/training-db"
    )
    assert mapper.place({"alertname": "X", "asset": "Component:nightly-etl"}).asset == (
        "component:default/nightly-etl"
    )


def test_oncall_toml_rules_apply_when_there_is_no_usable_asset_label(mapper: AssetMapper) -> None:
    placed = mapper.place({"alertname": "X", "job": "nightly-etl"})
    assert placed.asset == "component:default/nightly-etl"
    assert placed.how == "oncall.toml alerts.job.nightly-etl"
    fallback = mapper.place({"alertname": "X", "asset": "no-such-thing", "dataset": "features"})
    assert fallback.asset is not None and fallback.asset.endswith("/feature-store")


def test_the_most_specific_alert_selector_annotation_wins(mapper: AssetMapper) -> None:
    assert mapper.place({"alertname": "X", "service": "ingest"}).asset == (
        "component:default/ingest-api"
    )
    assert mapper.place({"alertname": "X", "service": "ingest", "region": "eu"}).asset == (
        "component:default/ingest-api-eu"
    )


def test_an_alert_nothing_places_says_why(mapper: AssetMapper) -> None:
    placed = mapper.place({"alertname": "X", "asset": "nowhere", "service": "other"})
    assert placed.asset is None
    assert "no asset named 'nowhere'" in placed.how


def test_alerts_differing_only_in_labels_no_rule_reads_share_one_placement(
    catalog: Catalog,
) -> None:
    mapper = AssetMapper(catalog, {"job": {"nightly-etl": "nightly-etl"}})
    assert {"asset", "job", "service", "region"} <= set(mapper.read_labels)
    first = mapper.place({"alertname": "X", "job": "nightly-etl", "instance": "i-1"})
    second = mapper.place({"alertname": "Y", "job": "nightly-etl", "instance": "i-2"})
    assert first == second and first.asset == "component:default/nightly-etl"
    # a label a selector reads still decides: not served from the entry above
    assert mapper.place({"alertname": "X", "service": "ingest", "region": "eu"}).asset == (
        "component:default/ingest-api-eu"
    )
    assert mapper._place.cache_info().hits == 1


def test_a_rule_naming_no_asset_stops_the_intake_naming_its_key(catalog: Catalog) -> None:
    with pytest.raises(IntakeConfigError, match=r"alerts\.job\.etl: no asset named 'nightly-et'"):
        AssetMapper(catalog, {"job": {"etl": "nightly-et"}})
    with pytest.raises(
        IntakeConfigError, match=r"alerts\.team\.data: group:default/team-data is a group"
    ):
        AssetMapper(catalog, {"team": {"data": "group:team-data"}})


def test_selectors_are_label_pairs() -> None:
    assert parse_selector("service=ingest, env='prod'") == (("env", "prod"), ("service", "ingest"))
    with pytest.raises(ValueError, match="'ingest' is not label=value"):
        parse_selector("ingest")


def test_severity_labels_map_to_severities_with_overrides() -> None:
    mapping = severity_map({"minor": "sev4", "warning": "2"})
    assert severity_for({"severity": "critical"}, mapping) == "SEV1"
    assert severity_for({"severity": "Error"}, mapping) == "SEV2"
    assert severity_for({"severity": "warning"}, mapping) == "SEV2"
    assert severity_for({"severity": "minor"}, mapping) == "SEV4"
    assert severity_for({}, mapping) == "SEV3"
    assert severity_for({"severity": "sev1"}, mapping) == "SEV1"
    with pytest.raises(IntakeConfigError, match=r"alert_severities\.bad"):
        severity_map({"bad": "SEV9"})


# -- recording ---------------------------------------------------------------------------------------


def test_a_group_opens_one_incident_with_every_alert_on_its_timeline(intake: AlertIntake) -> None:
    result = intake.ingest(
        webhook(
            alert(fingerprint="a", asset="training-db", severity="critical", instance="one"),
            alert(fingerprint="b", asset="training-db", severity="critical", instance="two"),
        )
    )
    assert result.opened == ["INC-1"]
    (incident,) = intake.store.list_incidents()
    assert (incident.asset, incident.severity, incident.title) == (
        "resource:default/training-db",
        "SEV1",
        "TrainingLoadFailed went off",
    )
    events = intake.store.events("INC-1")
    assert [e.kind for e in events] == ["status", "alert", "alert"]
    assert events[1].data["labels"]["instance"] == "one"
    assert events[1].data["annotations"] == {"summary": "TrainingLoadFailed went off"}
    assert events[1].message == "firing: TrainingLoadFailed: TrainingLoadFailed went off"
    assert intake.store.verify("INC-1").ok


def test_a_repeat_of_the_same_alert_in_the_same_state_is_recorded_once(
    intake: AlertIntake,
) -> None:
    body = webhook(alert(fingerprint="a", asset="training-db"))
    intake.ingest(body)
    again = intake.ingest(body)
    assert again.to_json()["duplicates"] == 1 and again.to_json()["recorded"] == 0
    assert len(intake.store.events("INC-1")) == 2
    assert len(intake.store.alert_receipts("a")) == 1


def test_a_firing_alert_on_an_asset_with_an_open_incident_joins_it(intake: AlertIntake) -> None:
    intake.ingest(webhook(alert(fingerprint="a", asset="training-db")))
    later = intake.ingest(webhook(alert("RowCountLow", fingerprint="z", asset="training-db")))
    assert later.outcomes[0].outcome == "appended"
    assert later.outcomes[0].incident_id == "INC-1"
    assert len(intake.store.list_incidents()) == 1


def test_a_resolved_alert_is_recorded_and_never_closes_the_incident(intake: AlertIntake) -> None:
    intake.ingest(webhook(alert(fingerprint="a", asset="training-db")))
    resolved = intake.ingest(
        webhook(alert(status="resolved", fingerprint="a", asset="training-db"))
    )
    assert resolved.outcomes[0].outcome == "appended"
    incident = intake.store.get_incident("INC-1")
    assert incident.status == "open"
    last = intake.store.events("INC-1")[-1]
    assert (last.kind, last.data["status"]) == ("alert", "resolved")
    assert last.message.startswith("resolved: TrainingLoadFailed")
    assert (
        intake.ingest(webhook(alert(status="resolved", fingerprint="a", asset="training-db")))
        .outcomes[0]
        .outcome
        == "duplicate"
    )


def test_a_resolved_alert_goes_to_its_firings_incident_even_when_closed(
    intake: AlertIntake,
) -> None:
    intake.ingest(webhook(alert(fingerprint="a", asset="training-db")))
    intake.store.set_status("INC-1", "resolved", actor="ana")
    resolved = intake.ingest(
        webhook(alert(status="resolved", fingerprint="a", asset="training-db"))
    )
    assert resolved.outcomes[0].incident_id == "INC-1"
    assert len(intake.store.list_incidents(include_closed=True)) == 1


def test_a_resolved_alert_with_no_incident_keeps_its_receipt_only(intake: AlertIntake) -> None:
    result = intake.ingest(webhook(alert(status="resolved", fingerprint="q", asset="training-db")))
    assert result.outcomes[0].outcome == "kept"
    assert intake.store.list_incidents(include_closed=True) == []
    (receipt,) = intake.store.alert_receipts("q")
    assert receipt["incident_id"] is None and receipt["status"] == "resolved"


def test_a_new_firing_after_a_resolution_opens_a_new_incident(intake: AlertIntake) -> None:
    intake.ingest(webhook(alert(fingerprint="a", asset="training-db")))
    intake.store.set_status("INC-1", "resolved", actor="ana")
    again = intake.ingest(
        webhook(alert(fingerprint="a", asset="training-db", starts="2026-12-03T05:00:00Z"))
    )
    assert again.opened == ["INC-2"]


def test_an_alert_for_an_unknown_asset_is_kept_on_an_incident_on_no_asset(
    intake: AlertIntake,
) -> None:
    result = intake.ingest(webhook(alert("Mystery", fingerprint="m", asset="nowhere")))
    (entry,) = result.to_json()["unmapped"]
    assert entry["incident"] == "INC-1" and "no asset named 'nowhere'" in entry["reason"]
    incident = intake.store.get_incident("INC-1")
    assert incident.asset == NO_ASSET
    assert "no asset found" in incident.title
    assert intake.store.events("INC-1")[-1].data["unplaced_because"] == entry["reason"]


def test_a_bad_alert_in_a_group_stores_nothing_of_the_group(intake: AlertIntake) -> None:
    good = alert(fingerprint="a", asset="training-db")
    with pytest.raises(BadPayload):
        intake.ingest(webhook(good, {**alert(fingerprint="b"), "startsAt": "soon"}))
    assert intake.store.list_incidents(include_closed=True) == []
    assert intake.store.alert_receipts() == []


def test_an_old_store_gains_the_receipts_table_and_still_verifies(tmp_path: Path) -> None:
    from incidents.database import DEFAULT_BUSY_TIMEOUT, Database, make_engine, parse_url
    from incidents.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    parsed = parse_url(url)
    db = Database(make_engine(parsed, DEFAULT_BUSY_TIMEOUT), parsed, DEFAULT_BUSY_TIMEOUT)
    upgrade(db, "0002")
    _write_an_event_as_0002_did(db)
    db.engine.dispose()
    with Store.open(url) as store:
        assert store.verify("INC-1").ok
        assert store.alert_receipts() == []


def _write_an_event_as_0002_did(db: Any) -> None:
    """INC-1 and its opening event, written the way a store at revision 0002 wrote them (no
    OS user or host on the event; its hash covers exactly the fields of then)."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from incidents.canonical import GENESIS_HASH, canonical_json, event_hash

    at = datetime(2026, 1, 1, tzinfo=UTC)
    data = {"asset": "resource:default/training-db", "severity": "SEV3", "title": "before"}
    digest = event_hash(
        incident_id="INC-1",
        seq=1,
        at=at,
        actor="ana",
        kind="status",
        message="opened: before",
        data=data,
        prev_hash=GENESIS_HASH,
    )
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incidents (id, number, title, severity, status, asset, opened_at, "
                "last_seq, head_hash) VALUES ('INC-1', 1, 'before', 'SEV3', 'open', "
                "'resource:default/training-db', '2026-01-01 00:00:00', 1, :head)"
            ),
            {"head": digest},
        )
        conn.execute(text("UPDATE counters SET value = 1 WHERE name = 'incident'"))
        conn.execute(
            text(
                "INSERT INTO events (incident_id, seq, at, actor, kind, message, data, "
                "prev_hash, hash) VALUES ('INC-1', 1, '2026-01-01 00:00:00.000000', 'ana', "
                "'status', 'opened: before', :data, :prev, :hash)"
            ),
            {"data": canonical_json(data), "prev": GENESIS_HASH, "hash": digest},
        )
