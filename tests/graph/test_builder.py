"""Linking at the end of a load: cycles, and graphs too deep for recursion."""

from __future__ import annotations

from graph.builder import strongly_connected_components


def test_a_long_chain_has_no_cycle_and_does_not_overflow_the_stack() -> None:
    chain = {f"n{i}": {f"n{i + 1}": ""} for i in range(50_000)}
    components = strongly_connected_components(chain)
    assert all(len(c) == 1 for c in components)
    assert len(components) == 50_001


def test_strongly_connected_components_finds_each_cycle() -> None:
    graph = {
        "a": {"b": ""},
        "b": {"c": ""},
        "c": {"a": "", "d": ""},
        "d": {"e": ""},
        "e": {"d": ""},
        "f": {"f": ""},
    }
    found = sorted(sorted(c) for c in strongly_connected_components(graph))
    assert found == [["a", "b", "c"], ["d", "e"], ["f"]]
