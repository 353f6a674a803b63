"""Entities stored column by column, made into `Entity` objects only when someone asks for one.

Why columns: a 100k-entity catalog must open from the cache in tens of milliseconds, and merely
creating 100k objects costs more than that. Parallel lists of strings, tuples and ints load with
`marshal` at memory speed, share every repeated value (kinds, owners, tags, files) once, and let
the hot queries (blast radius, search) read one field of many entities without making any object.
`EntityMap` is the `Mapping[str, Entity]` the rest of the code sees; it keeps every entity it made,
so the same ref always gives the same object.
"""

from __future__ import annotations

import pickle
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from typing import Any

from graph.records import Entity

# Columns in the order of Entity's fields, without the last, `spec` (sparse: most have none).
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Entity))[:-1]
FILE_COLUMN = COLUMNS.index("file")  # holds indexes into `files`, not the paths themselves
# Columns with few distinct values: one shared object per value (tuples and their strings too).
SHARED_COLUMNS: frozenset[str] = frozenset(
    {
        "kind",
        "namespace",
        "type",
        "owner",
        "tags",
        "system",
        "lifecycle",
        "member_of",
        "members",
        "parent",
        "children",
    }
)
# Free text read one row at a time (a headline, a label): packed into one string per column,
# so loading them costs one allocation instead of one per entity.
PACKED_COLUMNS: frozenset[str] = frozenset({"title", "description", "email", "display_name"})
INT_COLUMNS: frozenset[str] = frozenset({"file", "line"})

Column = Sequence[Any]


class PackedText(Sequence["str | None"]):
    """Many strings stored as one: row i is `text[starts[i]:starts[i + 1]]`, or None."""

    __slots__ = ("_list", "nulls", "starts", "text")

    def __init__(self, text: str, starts: array[int], nulls: bytes) -> None:
        if len(starts) != len(nulls) + 1:
            raise ValueError("packed column offsets do not match its rows")
        self.text, self.starts, self.nulls = text, starts, nulls
        self._list: tuple[str | None, ...] | None = None

    @classmethod
    def pack(cls, values: Sequence[str | None]) -> PackedText:
        starts = [0]
        for value in values:
            starts.append(starts[-1] + (len(value) if value else 0))
        text = "".join(value for value in values if value)
        nulls = bytes(value is None for value in values)
        return cls(text, array("q", starts), nulls)

    def __len__(self) -> int:
        return len(self.nulls)

    def __getitem__(self, row: Any) -> Any:
        if isinstance(row, slice):
            return self.tolist()[row]
        if self._list is not None:
            return self._list[row]
        if self.nulls[row]:
            return None
        starts = self.starts
        row = range(len(self.nulls))[row]  # negative rows, and IndexError like a list
        return self.text[starts[row] : starts[row + 1]]

    def __iter__(self) -> Iterator[str | None]:
        return iter(self.tolist())

    def tolist(self) -> tuple[str | None, ...]:
        """Every row (made once: a whole-column read is a bulk job)."""
        if self._list is None:
            text, starts, nulls = self.text, self.starts, self.nulls
            self._list = tuple(
                [None if nulls[i] else text[starts[i] : starts[i + 1]] for i in range(len(nulls))]
            )
        return self._list

    def state(self) -> tuple[str, bytes, bytes]:
        return self.text, self.starts.tobytes(), self.nulls

    @classmethod
    def from_state(cls, state: tuple[str, bytes, bytes]) -> PackedText:
        text, starts, nulls = state
        offsets = array("q")
        offsets.frombytes(starts)
        return cls(text, offsets, nulls)


class EntityTable:
    """Every entity as one row across parallel columns; `row(ref)` finds a row."""

    __slots__ = ("_index", "_specs", "_specs_blob", "columns", "files")

    def __init__(
        self,
        columns: list[Column],
        files: list[str],
        specs: dict[int, dict[str, Any]] | None = None,
        specs_blob: bytes | None = None,
    ) -> None:
        if len(columns) != len(COLUMNS) or len({len(c) for c in columns}) > 1:
            raise ValueError(f"expected {len(COLUMNS)} columns of one length")
        self.columns = columns
        self.files = files
        self._specs = specs
        self._specs_blob = specs_blob
        self._index: dict[str, int] | None = None

    @classmethod
    def from_entities(cls, entities: Iterable[Entity]) -> EntityTable:
        """Columns from entity objects, each repeated value stored once."""
        shared: dict[Any, Any] = {}

        def share(value: Any) -> Any:
            if isinstance(value, tuple):
                value = tuple(shared.setdefault(v, v) for v in value)
            return shared.setdefault(value, value)

        lists: list[list[Any]] = [[] for _ in COLUMNS]
        files: list[str] = []
        file_index: dict[str, int] = {}
        specs: dict[int, dict[str, Any]] = {}
        getters = [(i, name, name in SHARED_COLUMNS) for i, name in enumerate(COLUMNS)]
        for row, entity in enumerate(entities):
            for i, name, is_shared in getters:
                value = getattr(entity, name)
                if i == FILE_COLUMN:
                    number = file_index.get(value)
                    if number is None:
                        number = file_index[value] = len(files)
                        files.append(value)
                    value = number
                elif is_shared and value is not None:
                    value = share(value)
                lists[i].append(value)
            if entity.spec:
                specs[row] = entity.spec
        columns: list[Column] = []
        for name, values in zip(COLUMNS, lists, strict=True):
            if name in PACKED_COLUMNS:
                columns.append(PackedText.pack(values))
            elif name in INT_COLUMNS:
                columns.append(array("q", values))
            else:
                columns.append(tuple(values))  # tuples of strings leave the collector's scans
        return cls(columns, files, specs)

    # -- the cache's form -----------------------------------------------------------------------

    def state(self) -> tuple[list[Any], list[str], bytes]:
        """Plain values for `marshal`; specs (which may hold dates) travel as one pickle."""
        columns: list[Any] = []
        for column in self.columns:
            if isinstance(column, PackedText):
                columns.append(column.state())
            elif isinstance(column, array):
                columns.append(column.tobytes())
            else:
                columns.append(column)
        return columns, self.files, self.specs_blob()

    @classmethod
    def from_state(cls, state: tuple[list[Any], list[str], bytes]) -> EntityTable:
        stored, files, blob = state
        columns: list[Column] = []
        for name, column in zip(COLUMNS, stored, strict=True):
            if name in PACKED_COLUMNS:
                columns.append(PackedText.from_state(column))
            elif name in INT_COLUMNS:
                numbers = array("q")
                numbers.frombytes(column)
                columns.append(numbers)
            else:
                columns.append(tuple(column))
        return cls(columns, list(files), None, blob)

    def specs_blob(self) -> bytes:
        if self._specs_blob is None:
            self._specs_blob = pickle.dumps(self._specs or {}, protocol=pickle.HIGHEST_PROTOCOL)
        return self._specs_blob

    # -- reading --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.columns[0])

    @property
    def refs(self) -> tuple[str, ...]:
        return self.columns[0]  # type: ignore[return-value]

    def column(self, name: str) -> Column:
        """One field of every entity, in row order (`file` holds indexes into `files`)."""
        return self.columns[COLUMNS.index(name)]

    @property
    def index(self) -> dict[str, int]:
        """Row of each ref; built on first use (a few milliseconds per 100k rows)."""
        if self._index is None:
            refs = self.refs
            self._index = dict(zip(refs, range(len(refs)), strict=True))
        return self._index

    def row(self, ref: str) -> int | None:
        return self.index.get(ref)

    def spec(self, row: int) -> dict[str, Any]:
        """The spec fields of a row that no column holds (custom fields), a fresh dict."""
        if self._specs is None:
            self._specs = pickle.loads(self._specs_blob) if self._specs_blob else {}
        found = self._specs.get(row)
        return dict(found) if found else {}

    def entity(self, row: int) -> Entity:
        """A new Entity for `row`."""
        values = [column[row] for column in self.columns]
        values[FILE_COLUMN] = self.files[values[FILE_COLUMN]]
        return Entity(*values, self.spec(row))


class EntityMap(Mapping[str, Entity]):
    """The catalog's entities by canonical ref, made on first access and kept."""

    __slots__ = ("_made", "table")

    def __init__(self, table: EntityTable) -> None:
        self.table = table
        self._made: dict[str, Entity] = {}

    def __getitem__(self, ref: str) -> Entity:
        entity = self._made.get(ref)
        if entity is None:
            entity = self._made[ref] = self.table.entity(self.table.index[ref])
        return entity

    def get(self, ref: str, default: Any = None) -> Any:  # type: ignore[override]
        entity = self._made.get(ref)
        if entity is not None:
            return entity
        row = self.table.index.get(ref)
        if row is None:
            return default
        entity = self._made[ref] = self.table.entity(row)
        return entity

    def at(self, row: int) -> Entity:
        """The entity of a row (what the graph's integer indexes point at)."""
        ref = self.table.refs[row]
        entity = self._made.get(ref)
        if entity is None:
            entity = self._made[ref] = self.table.entity(row)
        return entity

    def __contains__(self, ref: object) -> bool:
        return ref in self.table.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.table.refs)

    def __len__(self) -> int:
        return len(self.table)

    def values(self) -> _Values:  # type: ignore[override]
        return _Values(self)

    def items(self) -> _Items:  # type: ignore[override]
        return _Items(self)

    def __repr__(self) -> str:
        return f"EntityMap({len(self)} entities)"


class _Values(Iterable[Entity]):
    """`entities.values()`: row order, without a dictionary look-up per entity."""

    __slots__ = ("_map",)

    def __init__(self, entity_map: EntityMap) -> None:
        self._map = entity_map

    def __len__(self) -> int:
        return len(self._map)

    def __iter__(self) -> Iterator[Entity]:
        at = self._map.at
        return (at(row) for row in range(len(self._map)))

    def __contains__(self, value: object) -> bool:
        return any(value == entity for entity in self)


class _Items(Iterable[tuple[str, Entity]]):
    __slots__ = ("_map",)

    def __init__(self, entity_map: EntityMap) -> None:
        self._map = entity_map

    def __len__(self) -> int:
        return len(self._map)

    def __iter__(self) -> Iterator[tuple[str, Entity]]:
        at, refs = self._map.at, self._map.table.refs
        return ((refs[row], at(row)) for row in range(len(self._map)))
