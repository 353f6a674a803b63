"""`runbooks.suggest`: the asset's runbooks first, then downstream ones nearest first, vetted first."""

from __future__ import annotations

from graph.queries import blast_radius
from runbooks.library import load_library
from runbooks.suggest import suggest_runbooks
from tests.conftest import DEMO_WORKSPACE
from tests.runbooks.demo_case import demo_catalog


def test_suggestions_follow_the_blast_radius_nearest_first() -> None:
    catalog = demo_catalog()
    library = load_library(DEMO_WORKSPACE / "runbooks", DEMO_WORKSPACE / "runbooks.lock")
    source = catalog.resolve("training-db")
    found = suggest_runbooks(library, catalog, source, blast_radius(catalog, source.ref))
    assert found, "the demo has runbooks for training-db and what it feeds"
    assert found[0].asset == source.ref and found[0].hops == 0
    assert [s.hops for s in found] == sorted(s.hops for s in found)
    for hops in {s.hops for s in found}:
        at = [s for s in found if s.hops == hops and s.asset == found[0].asset]
        assert [not s.vetted for s in at] == sorted(not s.vetted for s in at)
    assert len({s.key for s in found}) == len(found)
    assert {s.id for s in found} >= {"training-store-partial-load", "model-rollback"}


def test_suggestions_stop_at_the_limit() -> None:
    catalog = demo_catalog()
    library = load_library(DEMO_WORKSPACE / "runbooks", DEMO_WORKSPACE / "runbooks.lock")
    source = catalog.resolve("training-db")
    found = suggest_runbooks(library, catalog, source, blast_radius(catalog, source.ref), limit=1)
    assert len(found) == 1 and found[0].asset == source.ref
