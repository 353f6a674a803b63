"""A `Reach` gives each reached entity's parent and owner as plain lists, equal to what its
`Affected` items say, so a caller can index a 50k-entity walk without making them."""

from __future__ import annotations

import pytest

from graph import queries
from graph.loader import load_catalog
from graph.model import Catalog
from tests.conftest import DEMO_WORKSPACE

TRAINING_DB = "resource:default/training-db"
DEMAND_FORECAST = "component:default/demand-forecast"


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return load_catalog([DEMO_WORKSPACE / "catalog"])


@pytest.mark.parametrize("query", [queries.blast_radius, queries.upstream])
@pytest.mark.parametrize("start", [TRAINING_DB, DEMAND_FORECAST])
def test_parents_and_owners_agree_with_each_affected_item(demo: Catalog, query, start) -> None:  # type: ignore[no-untyped-def]
    reach = query(demo, start)
    assert len(reach) > 0
    items = list(reach)
    assert reach.parent_refs() == [item.path[-2] for item in items]
    assert reach.owners() == [item.owner for item in items]
    assert [
        parent for parent, item in zip(reach.parent_refs(), items, strict=True) if item.hops == 1
    ] == [start] * sum(1 for item in items if item.hops == 1)


def test_a_source_nothing_feeds_has_empty_columns_upstream(demo: Catalog) -> None:
    source = queries.upstream(demo, "resource:default/ops-db")
    assert source.refs() == source.parent_refs() == source.owners() == []
