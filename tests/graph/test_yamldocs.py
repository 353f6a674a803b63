"""The fast document builder gives exactly what PyYAML's safe loader gives, with line numbers."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from graph.yamldocs import YamlFailure, iter_documents

TRICKY = [
    "a: &x {b: [1, 2.5, true, null, 2024-01-01, 's', 0x10]}\nc: *x\n",
    "s: !!set {p, q}\n",
    "base: &b {k: 1}\nm:\n  <<: *b\n  j: 2\n",
    "r: &r [1, *r]\n",
    "t: 9:30\nu: ~\nv: 2024-03-30T10:00:00Z\nw: '9:30'\n",
    "o: !!omap [{a: 1}, {b: 2}]\n",
    "k: {1: one, 2.5: two, null: three}\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_documents_match_pyyaml(text: str) -> None:
    ours = [doc for doc, _lines in iter_documents(text)]  # type: ignore[misc]
    assert repr(ours) == repr(list(yaml.safe_load_all(text)))


def test_an_alias_is_the_same_object_as_its_anchor() -> None:
    ((doc, _lines),) = list(iter_documents(TRICKY[0]))  # type: ignore[misc]
    assert doc["a"] is doc["c"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(values=st.lists(json_values, min_size=1, max_size=3))
def test_any_dumped_document_stream_reads_back_the_same(values: list[object]) -> None:
    text = yaml.safe_dump_all(values)
    ours = [doc for doc, _lines in iter_documents(text)]  # type: ignore[misc]
    assert ours == [v for v in yaml.safe_load_all(text) if v is not None]


def test_lines_point_into_the_document() -> None:
    text = "a: 1\n---\nmetadata:\n  name: x\nspec:\n  dependsOn:\n    - one\n    - two\n"
    (_first, (_doc, lines)) = list(iter_documents(text))  # type: ignore[misc]
    assert lines.start == 3
    assert lines.entity_line() == 4
    assert lines.at("spec", "dependsOn", 1) == 8
    assert lines.at("spec", "missing") == 6  # the deepest node that exists: spec's value


def test_a_malformed_stream_keeps_the_documents_before_the_fault() -> None:
    items = list(iter_documents("a: 1\n---\nb: [1, 2\n---\nc: 3\n"))
    assert items[0][0] == {"a": 1}  # type: ignore[index]
    assert isinstance(items[1], YamlFailure)
    assert len(items) == 2
