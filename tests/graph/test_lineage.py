"""OpenLineage RunEvents: the Marquez seed data, the ref scheme, formats and ownership."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph import queries
from graph.lineage import lineage_parts, lineage_ref, parse_event_time
from graph.loader import load_catalog
from graph.model import Catalog
from graph.refs import split_ref
from tests.conftest import EXTERNAL, MARQUEZ_EVENTS


@pytest.fixture(scope="module")
def marquez() -> Catalog:
    return load_catalog([], [MARQUEZ_EVENTS])


def test_the_marquez_events_become_thirteen_jobs_and_thirteen_datasets(marquez: Catalog) -> None:
    kinds = [e.kind for e in marquez.entities.values()]
    assert kinds.count("job") == 13
    assert kinds.count("dataset") == 13
    assert marquez.errors == []


def test_placeholder_times_are_accepted_as_unknown(marquez: Catalog) -> None:
    assert not [p for p in marquez.problems if "eventTime" in p.message]
    assert parse_event_time("{{RUN_END_TIME_AFTER_8_MINUTES}}") is None
    assert parse_event_time("2020-02-22T22:00:00.000Z") is not None


def test_inputs_feed_the_job_and_the_job_feeds_its_outputs(marquez: Catalog) -> None:
    job = "job:food_delivery/etl_orders_7_days"
    assert job in marquez.downstream["dataset:food_delivery/public.menus"]
    assert "dataset:food_delivery/public.orders_7_days" in marquez.downstream[job]
    origin = marquez.downstream[job]["dataset:food_delivery/public.orders_7_days"]
    assert "marquez-metadata.template.json" in origin and "OpenLineage run" in origin


def test_the_blast_radius_follows_lineage_through_jobs(marquez: Catalog) -> None:
    reached = {
        a.ref: a for a in queries.blast_radius(marquez, "dataset:food_delivery/public.menus")
    }
    final = reached["dataset:food_delivery/public.popular_orders_day_of_week"]
    assert final.hops == 8
    assert final.path[0] == "dataset:food_delivery/public.menus"


def test_documentation_facets_become_descriptions(marquez: Catalog) -> None:
    assert marquez.get("job:food_delivery/etl_menus").description == (
        "Loads newly added restaurant menus daily."
    )
    assert marquez.get("dataset:food_delivery/public.menus").description == "A table for menus."


def test_lineage_entities_resolve_by_bare_name_and_namespace(marquez: Catalog) -> None:
    assert marquez.resolve("public.menus").ref == "dataset:food_delivery/public.menus"
    assert marquez.resolve("food_delivery/etl_menus").ref == "job:food_delivery/etl_menus"


def test_entities_point_at_the_line_of_the_event_that_first_named_them(marquez: Catalog) -> None:
    entity = marquez.get("job:food_delivery/etl_categories")
    lines = MARQUEZ_EVENTS.read_text().splitlines()
    assert lines[entity.line - 1].strip() == "{"
    event = json.loads(MARQUEZ_EVENTS.read_text())[2]
    assert event["job"]["name"] == "etl_categories"


namespaces = st.one_of(
    st.sampled_from(
        ["food_delivery", "postgres://db:5432", "s3://bucket", "bigquery", "kafka://b:9092"]
    ),
    st.text(min_size=1, max_size=20),
)
names = st.one_of(
    st.sampled_from(["public.menus", "/warehouse/orders", "a b", "100%"]),
    st.text(min_size=1, max_size=20),
)


@given(namespace=namespaces, name=names)
def test_lineage_refs_round_trip_and_parse_as_refs(namespace: str, name: str) -> None:
    ref = lineage_ref("dataset", namespace, name)
    assert ref == ref.lower()
    assert lineage_parts(ref) == ("dataset", namespace, name)  # exact: names are case-sensitive
    kind, ref_namespace, _ = split_ref(ref)
    assert kind == "dataset"
    assert "/" not in (ref_namespace or "") and ":" not in (ref_namespace or "")


def test_a_uri_namespace_is_percent_encoded() -> None:
    assert lineage_ref("dataset", "postgres://db:5432", "public.t") == (
        "dataset:postgres%3a%2f%2fdb%3a5432/public.t"
    )


def _event(job: str, inputs: list[str], outputs: list[str], **job_facets: object) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-27T01:00:00Z",
        "run": {"runId": f"run-{job}"},
        "job": {"namespace": "etl", "name": job, "facets": job_facets},
        "inputs": [{"namespace": "db", "name": n} for n in inputs],
        "outputs": [{"namespace": "db", "name": n} for n in outputs],
    }


def test_ndjson_a_single_event_and_an_array_all_load(tmp_path: Path) -> None:
    owner = {"ownership": {"owners": [{"name": "team:team-x", "type": "MAINTAINER"}]}}
    events = [_event("a", ["raw"], ["clean"], **owner), _event("b", ["clean"], ["report"], **owner)]
    (tmp_path / "events.ndjson").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    (tmp_path / "one.json").write_text(json.dumps(_event("c", ["report"], ["mail"], **owner)))
    (tmp_path / "many.json").write_text(json.dumps([_event("d", ["mail"], [], **owner)], indent=1))
    catalog = load_catalog([], [tmp_path])
    jobs = sorted(e.name for e in catalog.entities.values() if e.kind == "job")
    assert jobs == ["a", "b", "c", "d"]
    assert catalog.get("job:etl/a").owner == "group:default/team-x"
    reached = [a.ref for a in queries.blast_radius(catalog, "dataset:db/raw")]
    assert reached[-1] == "job:etl/d"


def test_ownership_facets_name_users_and_teams(tmp_path: Path) -> None:
    (tmp_path / "team.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: ann}\nspec: {memberOf: []}\n"
    )
    event = _event("load", [], ["t"], ownership={"owners": [{"name": "user:ann"}]})
    (tmp_path / "e.json").write_text(json.dumps([event]))
    catalog = load_catalog([tmp_path / "team.yaml"], [tmp_path / "e.json"])
    assert catalog.get("job:etl/load").owner == "user:default/ann"
    assert not [p for p in catalog.problems if p.entity == "job:etl/load"]
    assert [p.entity for p in catalog.warnings] == ["dataset:db/t"]  # no ownership facet


def test_an_unparseable_event_time_is_a_warning(tmp_path: Path) -> None:
    event = _event("load", [], [], ownership={"owners": [{"name": "team:x"}]})
    event["eventTime"] = "yesterday"
    (tmp_path / "e.json").write_text(json.dumps(event))
    catalog = load_catalog([], [tmp_path / "e.json"])
    assert any("not ISO 8601" in p.message for p in catalog.warnings)


def test_a_job_that_reads_and_writes_the_same_dataset_is_a_warning_not_an_error(
    tmp_path: Path,
) -> None:
    event = _event("merge", ["t"], ["t"], ownership={"owners": [{"name": "team:x"}]})
    (tmp_path / "e.json").write_text(json.dumps(event))
    catalog = load_catalog([], [tmp_path / "e.json"])
    assert catalog.errors == []
    assert any("cycle" in p.message for p in catalog.warnings)


def _load(tmp_path: Path, events: list[dict]) -> Catalog:
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return load_catalog([], [path])


def _run_event(inputs: list[dict], outputs: list[dict], job: str = "copy") -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-12-02T02:00:00Z",
        "run": {"runId": "r1"},
        "job": {"namespace": "spark", "name": job},
        "inputs": inputs,
        "outputs": outputs,
    }


def test_two_datasets_differing_only_in_case_stay_two_assets(tmp_path: Path) -> None:
    catalog = _load(
        tmp_path,
        [
            _run_event(
                [{"namespace": "s3://Bucket", "name": "raw/Orders.csv"}],
                [{"namespace": "s3://Bucket", "name": "raw/orders.csv"}],
            )
        ],
    )
    datasets = sorted(e.name for e in catalog.entities.all() if e.kind == "dataset")
    assert datasets == ["raw/Orders.csv", "raw/orders.csv"]
    upper = lineage_ref("dataset", "s3://Bucket", "raw/Orders.csv")
    assert upper == "dataset:s3%3a%2f%2f%42ucket/raw/%4frders.csv"
    assert catalog.resolve("s3://Bucket/raw/Orders.csv").ref == upper
    assert catalog.resolve("s3://Bucket/raw/orders.csv").ref != upper
    assert catalog.resolve("dataset:s3://Bucket/raw/Orders.csv").ref == upper


def test_an_openlineage_name_finds_its_dataset_and_its_job(tmp_path: Path) -> None:
    catalog = _load(
        tmp_path,
        [
            _run_event(
                [{"namespace": "postgres://postgres:5432", "name": "postgres.public.raw_orders"}],
                [{"namespace": "food_delivery", "name": "public.menus"}],
                job="etl_menus",
            )
        ],
    )
    found = catalog.resolve("postgres://postgres:5432/postgres.public.raw_orders")
    assert found.name == "postgres.public.raw_orders"
    assert catalog.resolve("food_delivery/public.menus").kind == "dataset"
    assert catalog.resolve("spark/etl_menus").ref == "job:spark/etl_menus"


def test_dataset_and_job_events_are_read_as_what_they_are(tmp_path: Path) -> None:
    owned = {"ownership": {"owners": [{"name": "team:data"}]}}
    catalog = _load(
        tmp_path,
        [
            {
                "eventTime": "2026-12-02T02:00:00Z",
                "dataset": {"namespace": "s3://b", "name": "lake/events", "facets": owned},
                "producer": "p",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            },
            {
                "eventTime": "2026-12-02T02:00:00Z",
                "job": {"namespace": "airflow", "name": "publish"},
                "inputs": [{"namespace": "s3://b", "name": "lake/events"}],
                "outputs": [{"namespace": "s3://b", "name": "lake/daily"}],
                "producer": "p",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
            },
        ],
    )
    assert [p for p in catalog.problems if p.severity == "error"] == []
    events = catalog.resolve("s3://b/lake/events")
    assert events.owner == "group:default/data"
    job = catalog.resolve("airflow/publish")
    assert job.ref in catalog.downstream[events.ref]


def test_a_malformed_ownership_facet_is_a_warning_at_its_line(tmp_path: Path) -> None:
    bad = {"ownership": {"owners": "team:data"}}
    catalog = _load(
        tmp_path,
        [
            _run_event([], [{"namespace": "s3://b", "name": "x", "facets": bad}]),
            _run_event(
                [],
                [{"namespace": "s3://b", "name": "y", "facets": {"ownership": {"owners": [{}]}}}],
            ),
        ],
    )
    messages = [(p.severity, p.line, p.message) for p in catalog.problems]
    assert (
        "warning",
        1,
        'ownership facet is malformed: expected {"owners": [{"name": "team:x"}, …]}',
    ) in messages
    assert ("warning", 2, "ownership facet: owners[0] has no name") in messages


@pytest.mark.parametrize(
    ("path", "jobs", "datasets", "edges"),
    [
        (EXTERNAL / "marquez-apples", 5, 9, 14),
        (EXTERNAL / "openlineage-dbt", 93, 21, 40),
        (MARQUEZ_EVENTS, 13, 13, 27),
    ],
)
def test_the_real_openlineage_files_load_with_the_same_counts(
    path: Path, jobs: int, datasets: int, edges: int
) -> None:
    """The counts these files gave before names kept their case: none of them differs in case
    only, so case-sensitive refs change nothing here."""
    catalog = load_catalog([], [path])
    kinds = [e.kind for e in catalog.entities.all()]
    assert (kinds.count("job"), kinds.count("dataset"), catalog.edge_count) == (
        jobs,
        datasets,
        edges,
    )
    assert [p for p in catalog.problems if p.severity == "error"] == []
