"""The entity table: columns give back exactly the entities they were made from, through the
cache's plain form too, and the mapping view behaves like the dict it replaced."""

from __future__ import annotations

import marshal
from datetime import UTC, date, datetime

import pytest

from graph.records import Entity
from graph.table import EntityMap, EntityTable, PackedText

ENTITIES = [
    Entity(
        ref="component:default/a",
        kind="component",
        namespace="default",
        name="a",
        title="Ångström — 数据",
        description="",
        type="model",
        owner="group:default/t",
        tags=("x", "y"),
        file="one.yaml",
        line=3,
        system="system:default/s",
        lifecycle="production",
        spec={"sla": {"since": date(2024, 1, 2), "at": datetime(2024, 1, 2, 3, tzinfo=UTC)}},
    ),
    Entity(
        ref="user:default/b",
        kind="user",
        namespace="default",
        name="b",
        file="two.yaml",
        line=9,
        email="b@example.com",
        display_name="Bee",
        member_of=("group:default/t",),
    ),
    Entity(
        ref="group:default/t",
        kind="group",
        namespace="default",
        name="t",
        tags=("x", "y"),
        file="one.yaml",
        line=20,
        members=("user:default/b",),
        children=("group:default/u",),
    ),
]


def test_packed_text_keeps_none_empty_and_any_unicode() -> None:
    values = ["plain", None, "", "Ångström — 数据", "last"]
    packed = PackedText.pack(values)
    assert [packed[i] for i in range(len(values))] == values
    assert list(packed) == values and packed[-1] == "last" and packed[1:3] == [None, ""]
    again = PackedText.from_state(packed.state())
    assert [again[i] for i in range(len(values))] == values and list(again) == values
    with pytest.raises(IndexError):
        packed[len(values)]


def test_a_table_gives_back_the_entities_it_was_made_from() -> None:
    table = EntityTable.from_entities(ENTITIES)
    assert [table.entity(row) for row in range(len(table))] == ENTITIES
    assert table.entities() == ENTITIES
    assert table.row("user:default/b") == 1 and table.row("nope") is None


def test_the_plain_form_survives_marshal() -> None:
    state = EntityTable.from_entities(ENTITIES).state()
    table = EntityTable.from_state(marshal.loads(marshal.dumps(state)))
    assert table.entities() == ENTITIES
    assert table.spec(0)["sla"]["since"] == date(2024, 1, 2)


def test_repeated_values_are_stored_once() -> None:
    table = EntityTable.from_entities(ENTITIES)
    tags = table.column("tags")
    assert tags[0] is tags[2]
    assert table.files == ["one.yaml", "two.yaml"]


def test_the_entity_map_reads_like_a_dict_and_keeps_what_it_made() -> None:
    entities = EntityMap(EntityTable.from_entities(ENTITIES))
    as_dict = {e.ref: e for e in ENTITIES}
    assert entities == as_dict and len(entities) == 3 and list(entities) == list(as_dict)
    assert entities["user:default/b"] is entities.get("user:default/b") is entities.at(1)
    first = entities["component:default/a"]
    first.title = "changed"
    assert entities.all()[0] is first and entities.all()[0].title == "changed"
    assert list(entities.values()) == entities.all() and dict(entities.items()) == entities
    assert "group:default/t" in entities and "group:default/nope" not in entities
    assert entities.get("group:default/nope") is None
    with pytest.raises(KeyError):
        entities["group:default/nope"]


def test_specs_are_copies_so_a_change_does_not_leak_into_the_table() -> None:
    table = EntityTable.from_entities(ENTITIES)
    table.entity(0).spec["sla"] = "gone"
    assert table.entity(0).spec["sla"] != "gone"
