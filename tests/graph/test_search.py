"""Type-ahead search: tiers in order (exact, prefix, word, substring, every word, letters in order,
spelling), names before titles before tags, and a query typed letter by letter answers exactly
what the same query answers on a fresh index."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import queries
from graph.loader import load_catalog
from graph.model import Catalog
from graph.search import Finder, finder, normalize
from tests.conftest import DEMO_WORKSPACE

COMPONENTS = [
    # name, title, tags
    ("demand", None, []),
    ("demand-forecast", "Demand forecast", ["forecasting"]),
    ("demand-forecast-v2", None, []),
    ("weekly-demand", "Weekly demand rollup", []),
    ("overdemanding", None, []),
    ("forecast-of-demand", None, []),
    ("dmd-forecaster", None, []),
    ("inventory-api", "Stock levels", ["demand"]),
    ("training-db", "Training database", ["ml"]),
    ("tax-feed", "Tax feed", ["finance"]),
]


def _catalog(tmp_path: Path) -> Catalog:
    documents = []
    for name, title, tags in COMPONENTS:
        metadata = f"name: {name}, tags: [{', '.join(tags)}]" + (
            f", title: {title}" if title else ""
        )
        documents.append(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
            f"metadata: {{{metadata}}}\nspec: {{type: service}}\n"
        )
    (tmp_path / "c.yaml").write_text("---\n".join(documents), encoding="utf-8")
    return load_catalog([tmp_path])


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return _catalog(tmp_path)


def names(catalog: Catalog, text: str, limit: int = 20) -> list[str]:
    return [m.ref.rpartition("/")[2] for m in queries.find(catalog, text, limit)]


def test_separators_and_case_do_not_matter() -> None:
    assert normalize("  Demand  Forecast ") == normalize("demand-forecast") == "demand\x1fforecast"
    assert normalize("--a__b..c--") == "a\x1fb\x1fc"
    assert normalize(" - ") == ""


def test_tiers_come_in_order(catalog: Catalog) -> None:
    found = names(catalog, "demand")
    assert found[:3] == ["demand", "demand-forecast", "demand-forecast-v2"]  # exact, then prefix
    assert found.index("weekly-demand") < found.index("overdemanding")  # word before substring
    assert found.index("overdemanding") < found.index("inventory-api")  # names before tags


def test_a_title_matches_after_names(catalog: Catalog) -> None:
    assert names(catalog, "training database")[0] == "training-db"
    assert names(catalog, "stock levels") == ["inventory-api"]


def test_every_word_in_any_order_is_found(catalog: Catalog) -> None:
    found = names(catalog, "forecast demand")
    assert {"demand-forecast", "forecast-of-demand", "demand-forecast-v2"} <= set(found)


def test_letters_in_order_find_abbreviations(catalog: Catalog) -> None:
    assert names(catalog, "dmnd fcst")[:1] == ["demand-forecast"]
    assert "training-db" in names(catalog, "trainng db")


def test_a_misspelt_word_is_corrected_to_a_word_the_catalog_uses(catalog: Catalog) -> None:
    assert "training-db" in names(catalog, "trianing")
    assert names(catalog, "finanse")[:1] == ["tax-feed"]  # via the tag


def test_nothing_is_found_for_nothing(catalog: Catalog) -> None:
    assert queries.find(catalog, "   ") == []
    assert queries.find(catalog, "-") == []
    assert queries.find(catalog, "demand", limit=0) == []
    assert queries.find(catalog, "zzzzqqq") == []


def test_the_limit_is_kept(catalog: Catalog) -> None:
    assert len(queries.find(catalog, "e", limit=3)) == 3


def test_a_match_carries_a_score_and_a_label(catalog: Catalog) -> None:
    (match,) = queries.find(catalog, "tax-feed", limit=1)
    assert match.ref == "component:default/tax-feed"
    assert match.score == 100.0
    assert match.label == "component:default/tax-feed — Tax feed"
    assert match.as_dict() == {"ref": match.ref, "score": 100.0, "label": match.label}


def test_the_index_is_built_once_per_catalog(catalog: Catalog) -> None:
    assert finder(catalog) is finder(catalog)
    assert catalog.search_index is finder(catalog)


@pytest.mark.parametrize(
    "query", ["demand forecast", "dmndfcst", "trainng db", "forecast demand", "tax"]
)
def test_typing_letter_by_letter_answers_like_a_fresh_index(catalog: Catalog, query: str) -> None:
    typing = Finder(catalog)
    for end in range(1, len(query) + 1):
        fresh = Finder(catalog)
        assert typing.find(query[:end]) == fresh.find(query[:end]), query[:end]
    for end in range(len(query), 0, -1):  # and back, with backspace
        assert typing.find(query[:end]) == Finder(catalog).find(query[:end])


def test_locations_are_never_found() -> None:
    demo = load_catalog([DEMO_WORKSPACE / "catalog"])
    assert all(not m.ref.startswith("location:") for m in queries.find(demo, "a", limit=500))
