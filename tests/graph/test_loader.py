"""Loading real catalogs: the Backstage examples (with their deliberate faults) and the demo."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from graph.errors import AmbiguousAsset, AssetNotFound, CatalogError
from graph.loader import load_catalog
from graph.model import Catalog
from tests.conftest import BACKSTAGE_EXAMPLES, DEMO_WORKSPACE

ALL = BACKSTAGE_EXAMPLES / "all.yaml"
ORG = BACKSTAGE_EXAMPLES / "acme" / "org.yaml"


@pytest.fixture(scope="module")
def examples() -> Catalog:
    return load_catalog([ALL, ORG])


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return load_catalog([DEMO_WORKSPACE / "catalog"])


def _line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def test_the_backstage_examples_load_everything_but_the_faults(examples: Catalog) -> None:
    kinds = {e.kind for e in examples.entities.values()}
    assert {
        "component",
        "resource",
        "system",
        "domain",
        "api",
        "group",
        "user",
        "location",
    } <= kinds
    assert examples.get("component:default/artist-lookup") is not None
    assert examples.get("group:default/team-a") is not None
    assert examples.get("user:default/janelle.dawe").email == "janelle-dawe@example.com"
    assert len(examples.errors) == 1
    assert not [p for p in examples.warnings if "does not exist" in p.message]


def test_the_missing_location_target_is_reported_with_the_location_file_and_line(
    examples: Catalog,
) -> None:
    apis = BACKSTAGE_EXAMPLES / "all-apis.yaml"
    (error,) = examples.errors
    assert Path(error.file) == apis
    assert error.line == _line_of(apis, "swapi-graphql.yaml")
    assert error.entity == "location:default/example-apis"
    assert "swapi-graphql.yaml" in error.message
    assert examples.get("api:default/petstore") is not None
    assert examples.get("api:default/wayback-search") is not None


def test_ai_resources_are_skipped_with_a_warning(examples: Catalog) -> None:
    skipped = [p for p in examples.warnings if "AiResource" in p.message]
    assert {p.entity for p in skipped} == {
        "airesource:default/frontend-design",
        "airesource:default/use-internal-apis",
    }
    for problem in skipped:
        assert problem.line == _line_of(Path(problem.file), "kind: AiResource")
    assert not [e for e in examples.entities.values() if e.kind == "airesource"]


def test_the_invalid_component_is_reported_with_file_and_line_while_the_rest_loads() -> None:
    invalid = BACKSTAGE_EXAMPLES / "components" / "invalid-component.yaml"
    catalog = load_catalog([ALL, ORG, invalid])
    found = [p for p in catalog.errors if Path(p.file) == invalid]
    assert {p.line for p in found} == {
        _line_of(invalid, "name: invalid component"),
        _line_of(invalid, "- go 1.15.3"),
    }
    assert all(p.entity == "component:default/invalid component" for p in found)
    assert catalog.get("component:default/invalid component") is None
    assert catalog.get("component:default/artist-lookup") is not None


def test_an_owner_in_another_namespace_resolves_by_its_explicit_namespace() -> None:
    other = BACKSTAGE_EXAMPLES / "components" / "different-namespace.yaml"
    catalog = load_catalog([ALL, ORG, other])
    entity = catalog.get("component:alternative/different-namespace")
    assert entity is not None
    assert entity.owner == "group:default/team-a"
    assert not [p for p in catalog.problems if p.entity == entity.ref]


def test_a_user_in_another_namespace_joins_a_group_by_full_ref(examples: Catalog) -> None:
    assert "user:development/guest" in examples.group_members["group:default/team-a"]


def test_group_parents_are_linked_from_either_side(examples: Catalog) -> None:
    # infrastructure states its parent; acme-corp states its children: both sides agree.
    assert examples.get("group:default/infrastructure").parent == "group:default/acme-corp"
    assert "group:default/infrastructure" in examples.get("group:default/acme-corp").children


def test_depends_on_and_apis_become_data_flow_edges(examples: Catalog) -> None:
    assert "component:default/artist-lookup" in examples.downstream["resource:default/artists-db"]
    assert "api:default/wayback-archive" in examples.downstream["component:default/wayback-archive"]
    assert "component:default/wayback-search" in examples.downstream["api:default/wayback-archive"]
    origin = examples.downstream["resource:default/artists-db"]["component:default/artist-lookup"]
    assert "artist-lookup-component.yaml" in origin
    assert "dependsOn" in origin


def test_a_directory_loads_each_file_once_however_it_is_reached() -> None:
    catalog = load_catalog([BACKSTAGE_EXAMPLES])
    assert not [p for p in catalog.problems if "duplicate" in p.message]
    # the OpenAPI document beside the APIs is not a descriptor and is skipped quietly
    assert not [p for p in catalog.problems if "petstore-webhook.oas" in p.file]
    assert catalog.get("component:alternative/different-namespace") is not None


def test_entities_point_at_the_line_of_their_name(examples: Catalog) -> None:
    entity = examples.get("component:default/artist-lookup")
    assert entity.line == _line_of(Path(entity.file), "name: artist-lookup")


def test_a_path_that_does_not_exist_raises() -> None:
    with pytest.raises(CatalogError, match="no such file"):
        load_catalog([BACKSTAGE_EXAMPLES / "nope.yaml"])


def test_the_demo_catalog_is_clean(demo: Catalog) -> None:
    assert demo.problems == []
    types = {e.type for e in demo.assets()}
    expected = {"data-source", "pipeline", "training-store", "feature-store", "model"}
    assert expected | {"deployment", "feed", "service"} <= types
    assert len(demo.rotations) >= 3
    teams = [e for e in demo.entities.values() if e.kind == "group" and e.type == "team"]
    assert len(teams) >= 3
    assert all(demo.get(u).email for t in teams for u in demo.group_members[t.ref])


def test_resolve_accepts_refs_bare_names_and_any_case(demo: Catalog) -> None:
    assert demo.resolve("training-db").ref == "resource:default/training-db"
    assert demo.resolve("Training-DB").ref == "resource:default/training-db"
    assert demo.resolve("resource:training-db").ref == "resource:default/training-db"
    assert demo.resolve("RESOURCE:default/training-db").ref == "resource:default/training-db"
    assert demo.resolve("default/training-db").ref == "resource:default/training-db"


def test_an_unknown_name_suggests_the_closest(demo: Catalog) -> None:
    with pytest.raises(AssetNotFound) as caught:
        demo.resolve("training-bd")
    assert caught.value.suggestions[0] == "resource:default/training-db"


def test_an_ambiguous_name_lists_the_candidates(examples: Catalog) -> None:
    with pytest.raises(AmbiguousAsset) as caught:
        examples.resolve("wayback-archive")
    assert caught.value.candidates == [
        "api:default/wayback-archive",
        "component:default/wayback-archive",
    ]


def test_a_catalog_survives_pickling(demo: Catalog) -> None:
    copy = pickle.loads(pickle.dumps(demo))
    assert copy.entities == demo.entities
    assert copy.downstream == demo.downstream
    assert copy.rotations == demo.rotations
    assert copy.resolve("training-db").ref == "resource:default/training-db"
