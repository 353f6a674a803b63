"""Backstage reference rules: parsing, defaults, case, and the canonical round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.refs import (
    EntityRef,
    RefError,
    canonical_ref,
    name_problem,
    parse_ref,
    ref_for_field,
    split_ref,
    tag_problem,
)

valid_names = st.from_regex(r"[a-zA-Z0-9]{1,8}([-_.][a-zA-Z0-9]{1,8}){0,3}", fullmatch=True)
kinds = st.sampled_from(["Component", "resource", "API", "group", "user", "system", "dataset"])


@given(kind=kinds, namespace=valid_names, name=valid_names)
def test_a_canonical_ref_parses_back_to_the_same_parts(
    kind: str, namespace: str, name: str
) -> None:
    ref = canonical_ref(kind, namespace, name)
    parsed = parse_ref(ref)
    assert str(parsed) == ref
    assert parsed == EntityRef(kind.lower(), namespace.lower(), name.lower())


@given(kind=kinds, namespace=valid_names, name=valid_names)
def test_parsing_ignores_case(kind: str, namespace: str, name: str) -> None:
    upper = parse_ref(f"{kind.upper()}:{namespace.upper()}/{name.upper()}")
    lower = parse_ref(f"{kind.lower()}:{namespace.lower()}/{name.lower()}")
    assert upper == lower


@given(name=valid_names, namespace=valid_names)
def test_a_bare_name_takes_the_field_default_kind_and_the_referrer_namespace(
    name: str, namespace: str
) -> None:
    assert ref_for_field(name, "owner", namespace) == f"group:{namespace}/{name}".lower()
    assert ref_for_field(name, "members", namespace) == f"user:{namespace}/{name}".lower()
    assert ref_for_field(name, "system", namespace) == f"system:{namespace}/{name}".lower()


@given(text=st.text(max_size=30))
def test_parsing_any_text_either_succeeds_or_raises_ref_error(text: str) -> None:
    try:
        ref = parse_ref(text, default_kind="component")
    except RefError:
        return
    assert str(ref) == str(ref).lower()
    assert ref.kind and ref.namespace and ref.name


@pytest.mark.parametrize(
    ("field", "text", "namespace", "expected"),
    [
        ("owner", "team-a", "default", "group:default/team-a"),
        ("owner", "user:guest", "default", "user:default/guest"),
        ("owner", "default/team-a", "alternative", "group:default/team-a"),
        ("owner", "team-a", "alternative", "group:alternative/team-a"),
        ("memberOf", "Team-A", "default", "group:default/team-a"),
        ("members", "Ann", "default", "user:default/ann"),
        ("parent", "infrastructure", "default", "group:default/infrastructure"),
        ("children", "backstage", "default", "group:default/backstage"),
        ("domain", "playback", "default", "domain:default/playback"),
        ("providesApis", "petstore", "default", "api:default/petstore"),
        ("consumesApis", "wayback-archive", "default", "api:default/wayback-archive"),
        ("dependsOn", "resource:artists-db", "default", "resource:default/artists-db"),
        ("dependencyOf", "Component:Other/X", "default", "component:other/x"),
    ],
)
def test_field_defaults_follow_backstage(
    field: str, text: str, namespace: str, expected: str
) -> None:
    assert ref_for_field(text, field, namespace) == expected


@pytest.mark.parametrize("field", ["dependsOn", "dependencyOf"])
def test_a_bare_name_in_depends_on_is_an_error(field: str) -> None:
    with pytest.raises(RefError, match="must name its kind"):
        ref_for_field("artists-db", field)


def test_a_slash_before_the_colon_means_there_is_no_kind() -> None:
    assert split_ref("ns/name:with-colon") == (None, "ns", "name:with-colon")
    assert split_ref("kind:ns/a/b") == ("kind", "ns", "a/b")


@pytest.mark.parametrize("text", ["", ":x", "kind:", "kind:/name", "ns/", "a b", " x"])
def test_malformed_references_are_refused(text: str) -> None:
    with pytest.raises(RefError):
        parse_ref(text, default_kind="component")


@pytest.mark.parametrize("name", ["a", "training-db", "public.menus", "food_delivery", "A1-b2.c3"])
def test_valid_names_pass(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["invalid component", "-a", "a-", "a--b", "a..b", "", "x" * 64, 5])
def test_invalid_names_are_explained(name: object) -> None:
    assert name_problem(name) is not None


def test_tags_follow_the_backstage_rule() -> None:
    assert tag_problem("go") is None
    assert tag_problem("c++") is None
    assert tag_problem("go 1.15.3") is not None
    assert tag_problem("Java") is not None
