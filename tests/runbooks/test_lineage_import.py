"""The workspace's lineage files recorded as run history: once per content, real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from incidents.store import Store
from runbooks.lineage_import import import_lineage
from tests.conftest import EXTERNAL

APPLES = EXTERNAL / "marquez-apples"
DBT = EXTERNAL / "openlineage-dbt" / "build_ol_events.json"


def test_marquez_runs_are_recorded_once_however_often_they_are_imported(
    database_url: str, tmp_path: Path
) -> None:
    with Store.open(database_url) as store:
        first = import_lineage(store, [APPLES])
        assert (first.read, first.unchanged, first.new_events, first.problems) == (8, 0, 8, [])
        again = import_lineage(store, [APPLES])
        assert (again.read, again.unchanged, again.new_events) == (0, 8, 0)
        records = store.run_records()
    assert len(records) == 8
    gather = next(r for r in records if r.job_name == "gather_apples")
    assert gather.state == "COMPLETE"
    assert [(d.namespace, d.name) for d in gather.inputs] == [("laurents-orchard", "red.delicious")]


def test_a_changed_file_is_read_again_and_only_its_new_events_count(
    sqlite_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "lineage"
    shutil.copytree(APPLES, folder)
    with Store.open(sqlite_url) as store:
        assert import_lineage(store, [folder]).new_events == 8
        target = folder / "1_pick_apples.json"
        event = json.loads(target.read_text())
        started = dict(event, eventType="START", eventTime="2020-08-30T08:00:00.000+10:00")
        target.write_text(json.dumps([started, event]))
        report = import_lineage(store, [folder])
    assert (report.read, report.unchanged, report.new_events) == (1, 7, 1)


def test_template_events_are_reported_and_not_taken_for_one_run(sqlite_url: str) -> None:
    """OpenLineage's dbt expectations carry `{{ any(result) }}` as every run id."""
    with Store.open(sqlite_url) as store:
        report = import_lineage(store, [DBT])
        assert report.new_events == 0
        assert store.run_records() == []
    assert len(report.problems) == 186
    assert "template placeholder" in report.problems[0]
    assert report.problems[0].startswith(f"{DBT}:")


def test_a_malformed_line_is_reported_and_the_rest_of_the_file_recorded(
    sqlite_url: str, tmp_path: Path
) -> None:
    lines = [
        json.loads((APPLES / name).read_text()) for name in sorted(p.name for p in APPLES.iterdir())
    ]
    text = "\n".join(json.dumps(e) for e in lines[:2]) + "\n{not json\n" + json.dumps(lines[2])
    path = tmp_path / "events.ndjson"
    path.write_text(text)
    with Store.open(sqlite_url) as store:
        report = import_lineage(store, [path])
    assert report.new_events == 3
    assert report.problems == [
        f"{path}:3: malformed JSON: Expecting property name enclosed in double quotes"
    ]
