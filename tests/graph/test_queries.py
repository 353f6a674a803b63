"""Queries on the demo catalog: blast radius, upstream, owners, who to page, search, permissions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from graph import queries
from graph.errors import AssetNotFound
from graph.loader import load_catalog
from graph.model import Catalog
from graph.rotation import on_call
from tests.conftest import BACKSTAGE_EXAMPLES, DEMO_WORKSPACE

TRAINING_DB = "resource:default/training-db"
# A Friday noon in November 2026, outside every override in the demo.
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return load_catalog([DEMO_WORKSPACE / "catalog"])


def test_the_blast_radius_of_training_db_reaches_models_deployments_and_feeds(
    demo: Catalog,
) -> None:
    reached = {a.ref: a for a in queries.blast_radius(demo, TRAINING_DB)}
    for ref in (
        "component:default/demand-forecast",
        "component:default/reorder-recommender",
        "component:default/demand-forecast-serving",
        "component:default/reorder-recommender-serving",
        "component:default/pricing-feed",
        "component:default/tax-feed",
        "component:default/inventory-api",
    ):
        assert ref in reached
    assert "resource:default/ops-db" not in reached
    assert "component:default/nightly-etl" not in reached


def test_each_affected_asset_has_a_shortest_path_and_its_hop_count(demo: Catalog) -> None:
    reached = {a.ref: a for a in queries.blast_radius(demo, TRAINING_DB)}
    tax = reached["component:default/tax-feed"]
    assert tax.hops == 4 == len(tax.path) - 1
    assert tax.path == [
        TRAINING_DB,
        "component:default/demand-forecast",
        "component:default/demand-forecast-serving",
        "component:default/pricing-feed",
        "component:default/tax-feed",
    ]
    assert tax.type == "feed"
    assert tax.owner == "group:default/team-commerce"
    for affected in reached.values():
        for source, target in zip(affected.path, affected.path[1:], strict=False):
            assert target in demo.downstream[source]


def test_results_come_nearest_first(demo: Catalog) -> None:
    hops = [a.hops for a in queries.blast_radius(demo, TRAINING_DB)]
    assert hops == sorted(hops)


def test_a_depth_limit_stops_the_walk(demo: Catalog) -> None:
    near = queries.blast_radius(demo, TRAINING_DB, depth=1)
    assert {a.ref for a in near} == {
        "resource:default/feature-store",
        "component:default/demand-forecast",
    }


def test_upstream_walks_back_to_the_source(demo: Catalog) -> None:
    sources = {a.ref: a for a in queries.upstream(demo, "component:default/pricing-feed")}
    assert sources["resource:default/ops-db"].path[0] == "component:default/pricing-feed"
    assert sources["resource:default/ops-db"].path[-1] == "resource:default/ops-db"
    assert "component:default/tax-feed" not in sources


def test_an_unknown_ref_raises_with_suggestions(demo: Catalog) -> None:
    with pytest.raises(AssetNotFound) as caught:
        queries.blast_radius(demo, "resource:default/training-bd")
    assert TRAINING_DB in caught.value.suggestions


def test_owners_gives_the_team_its_people_who_is_on_call_and_the_escalation(demo: Catalog) -> None:
    ownership = queries.owners(demo, "component:default/demand-forecast", NOON)
    assert ownership.owner == "group:default/team-ml"
    assert {m.ref for m in ownership.members} >= {
        "user:default/erin.walsh",
        "user:default/grace.kim",
    }
    assert all(m.email and m.email.endswith("@example.com") for m in ownership.members)
    rotation = demo.rotations["rotation:default/ml-oncall"]
    expected_user, expected_until = on_call(rotation, NOON)
    assert ownership.on_call is not None
    assert (ownership.on_call.ref, ownership.on_call.until) == (expected_user, expected_until)
    assert ownership.on_call.rotation == "rotation:default/ml-oncall"
    assert ownership.escalation == ["user:default/hiro.tanaka", "user:default/maya.singh"]


def test_the_demo_holiday_override_puts_ben_on_call(demo: Catalog) -> None:
    christmas = datetime(2026, 12, 25, 3, tzinfo=UTC)
    ownership = queries.owners(demo, TRAINING_DB, christmas)
    assert ownership.on_call is not None
    assert ownership.on_call.ref == "user:default/ben.okafor"
    assert ownership.on_call.until == datetime(2026, 12, 28, 8, tzinfo=UTC)


def test_who_to_page_lists_each_person_once_with_the_assets_behind_them(demo: Catalog) -> None:
    refs = [TRAINING_DB, *(a.ref for a in queries.blast_radius(demo, TRAINING_DB))]
    page = queries.who_to_page(demo, refs, NOON)
    people = [p.ref for p in page]
    assert len(people) == len(set(people)) == 3
    ml_on_call = on_call(demo.rotations["rotation:default/ml-oncall"], NOON)[0]
    ml = next(p for p in page if p.ref == ml_on_call)
    assert ml.email
    assert ml.reasons[0].startswith("on call for team-ml (owns resource:default/feature-store")
    data_on_call = on_call(demo.rotations["rotation:default/data-oncall"], NOON)[0]
    assert page[0].ref == data_on_call  # the asset itself comes first
    assert page[0].reasons == ["on call for team-data (owns resource:default/training-db)"]


def test_a_group_without_a_rotation_pages_its_members() -> None:
    catalog = load_catalog(
        [BACKSTAGE_EXAMPLES / "all.yaml", BACKSTAGE_EXAMPLES / "acme" / "org.yaml"]
    )
    page = queries.who_to_page(catalog, ["resource:default/artists-db"], NOON)
    assert "user:default/janelle.dawe" in [p.ref for p in page]
    assert page[0].reasons == ["member of team-a (owns resource:default/artists-db)"]
    ownership = queries.owners(catalog, "domain:default/playback", NOON)
    assert ownership.owner == "user:default/frank.tiernan"
    assert [m.ref for m in ownership.members] == ["user:default/frank.tiernan"]
    assert ownership.on_call is None


def test_a_team_without_a_rotation_uses_its_parent_groups_rotation(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: dept}
spec: {type: department, children: [team]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: ann}
spec: {memberOf: [dept]}
---
apiVersion: oncall/v1
kind: Rotation
metadata: {name: dept-oncall}
spec: {owner: dept, timezone: UTC, members: [ann]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: thing}
spec: {owner: team}
"""
    )
    catalog = load_catalog([tmp_path])
    assert catalog.problems == []
    ownership = queries.owners(catalog, "component:default/thing", NOON)
    assert ownership.on_call is not None and ownership.on_call.ref == "user:default/ann"
    assert queries.is_owner_or_on_call(catalog, "ann", "component:default/thing", NOON)


def test_owners_and_on_call_may_act_and_others_may_not(demo: Catalog) -> None:
    asset = "component:default/demand-forecast"
    assert queries.is_owner_or_on_call(demo, "user:default/erin.walsh", asset, NOON)
    assert queries.is_owner_or_on_call(demo, "Erin.Walsh", asset, NOON)
    assert not queries.is_owner_or_on_call(demo, "user:default/ana.lima", asset, NOON)
    assert not queries.is_owner_or_on_call(demo, "not a ref", asset, NOON)
    on_duty = on_call(demo.rotations["rotation:default/data-oncall"], NOON)[0]
    assert queries.is_owner_or_on_call(demo, on_duty, TRAINING_DB, NOON)


def test_find_ranks_exact_names_first_and_tolerates_typos(demo: Catalog) -> None:
    assert queries.find(demo, "demand-forecast")[0].ref == "component:default/demand-forecast"
    assert queries.find(demo, "trainng db")[0].ref == TRAINING_DB
    assert queries.find(demo, "Training database")[0].ref == TRAINING_DB  # by title
    tagged = [m.ref for m in queries.find(demo, "recommendations")]
    assert "component:default/reorder-recommender" in tagged
    assert len(queries.find(demo, "e", limit=3)) <= 3
    assert queries.find(demo, "   ") == []


def test_a_reach_reads_like_a_list_of_affected_assets(demo: Catalog) -> None:
    reach = queries.blast_radius(demo, TRAINING_DB)
    every = list(reach)
    assert len(reach) == len(every) > 5
    assert reach == every and every == reach
    assert reach[0] == every[0] and reach[-1] == every[-1]
    assert reach[1:3] == every[1:3]
    assert reach.refs() == [a.ref for a in every]
    assert [a.as_dict() for a in reach] == [a.as_dict() for a in every]
    with pytest.raises(IndexError):
        reach[len(every)]


def test_lazily_made_paths_are_the_shortest_paths_a_plain_walk_finds(demo: Catalog) -> None:
    for start in demo.entities:
        # the textbook breadth-first walk over the mappings, for comparison
        parents: dict[str, str] = {start: start}
        level = [start]
        hops: dict[str, int] = {}
        depth = 0
        while level:
            depth += 1
            following = []
            for node in level:
                for succ in demo.downstream.get(node, {}):
                    if succ not in parents:
                        parents[succ] = node
                        hops[succ] = depth
                        following.append(succ)
            level = following
        reach = queries.blast_radius(demo, start)
        assert reach.refs() == list(hops)
        for affected in reach:
            path = [affected.ref]
            while path[-1] != start:
                path.append(parents[path[-1]])
            assert affected.path == path[::-1]
            assert affected.hops == hops[affected.ref]


def test_an_asset_that_feeds_nothing_reaches_nothing(demo: Catalog) -> None:
    leaf = next(e.ref for e in demo.assets() if e.ref not in demo.downstream)
    reach = queries.blast_radius(demo, leaf)
    assert len(reach) == 0 and list(reach) == [] and reach == []
