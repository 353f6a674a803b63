"""`graph.impact`: the one composition of blast radius, owners concerned and who to page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from graph import queries
from graph.impact import answerers, impact
from graph.loader import load_catalog
from graph.model import Catalog
from tests.conftest import DEMO_WORKSPACE

TRAINING_DB = "resource:default/training-db"
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return load_catalog([DEMO_WORKSPACE / "catalog"])


def test_impact_is_the_blast_radius_its_owners_and_who_to_page(demo: Catalog) -> None:
    found = impact(demo, "training-db", NOON)
    radius = queries.blast_radius(demo, TRAINING_DB)
    refs = [TRAINING_DB, *radius.refs()]
    assert found.asset.ref == TRAINING_DB
    assert found.refs == refs
    assert [a.ref for a in found.affected] == radius.refs()
    assert [p.ref for p in found.page] == [p.ref for p in queries.who_to_page(demo, refs, NOON)]
    assert found.unpaged == queries.unpaged(demo, refs)
    owners_of = {ref: demo.get(ref).owner for ref in refs}  # type: ignore[union-attr]
    assert {t.team: t.asset_count for t in found.teams} == {
        owner: sum(1 for o in owners_of.values() if o == owner)
        for owner in set(owners_of.values())
        if owner
    }
    for team in found.teams:
        first = next(ref for ref in refs if owners_of[ref] == team.team)
        assert team.on_call == queries.owners(demo, first, NOON).on_call


def test_impact_within_a_depth_reaches_only_that_far(demo: Catalog) -> None:
    found = impact(demo, TRAINING_DB, NOON, depth=1)
    assert found.affected and all(a.hops == 1 for a in found.affected)


def test_a_team_answers_for_itself_with_its_rotation(demo: Catalog) -> None:
    team = answerers(demo, "team-ml", NOON)
    assert team.owner == team.asset == "group:default/team-ml"
    assert team.on_call is not None and team.on_call.rotation == "rotation:default/ml-oncall"
    assert "user:default/grace.kim" in [m.ref for m in team.members]
    assert team.escalation[0] == "user:default/hiro.tanaka"


def test_an_asset_answers_through_its_owner(demo: Catalog) -> None:
    assert answerers(demo, TRAINING_DB, NOON) == queries.owners(demo, TRAINING_DB, NOON)
