"""Entities stored column by column, made into `Entity` objects only when someone asks for one.

Why columns: a 100k-entity catalog must open from the cache in tens of milliseconds, and merely
creating 100k objects costs more than that. Parallel tuples of strings load with `marshal` at
memory speed and share every repeated value (kinds, owners, tags) once; integers and free text
(titles, descriptions) are byte buffers the cache maps from disk and decodes a row at a time.
The hot queries (blast radius, search) read one field of many entities without making any
object, and the garbage collector never scans a column (tuples of strings and byte buffers are
not containers it tracks). `EntityMap` is the `Mapping[str, Entity]` the rest of the code sees;
it keeps every entity it made, so the same ref always gives the same object.
"""

from __future__ import annotations

import marshal
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from datetime import date, datetime
from itertools import accumulate
from operator import attrgetter
from typing import Any

from graph.gcpause import paused_gc
from graph.records import Entity

# Columns in the order of Entity's fields, without the last, `spec` (sparse: most have none).
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Entity))[:-1]
if fields(Entity)[-1].name != "spec":  # pragma: no cover - guards a reordering of Entity
    raise ImportError("graph.table expects Entity.spec to be the last field")
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
# Free text read one row at a time (a headline, a label): packed into one UTF-8 buffer per
# column, so loading them costs nothing until a row is read.
PACKED_COLUMNS: frozenset[str] = frozenset({"title", "description", "email", "display_name"})
INT_COLUMNS: frozenset[str] = frozenset({"file", "line"})
# What an entity says about itself only: nothing else in a catalog (edges, problems, indexes,
# duplicates) is derived from these, so a file that changed only them can be patched in place
# (`EntityTable.with_rows`, `graph.patch`).
PATCHABLE: tuple[str, ...] = (
    "title",
    "description",
    "type",
    "tags",
    "lifecycle",
    "email",
    "display_name",
    "alert_selector",
)

Column = Sequence[Any]


def int_view(data: bytes | memoryview) -> Sequence[int]:
    """64-bit integers stored as bytes, read in place (no copy: the cache maps them from disk)."""
    return memoryview(data).cast("B").cast("q")


class PackedText(Sequence["str | None"]):
    """Many strings stored as one UTF-8 buffer: row i is `data[starts[i]:starts[i + 1]]`.

    Reading a row decodes just that row, so a column loaded from the cache costs nothing until
    it is read, and a whole-column read (`tolist`) is done once and kept. `over` holds rows
    replaced since the buffer was packed (`replaced`): laid over it, not spliced into it, so
    patching a few rows of a million costs nothing until the column is stored again.
    """

    __slots__ = ("_list", "_over", "data", "nulls", "starts")

    def __init__(
        self,
        data: bytes | memoryview,
        starts: Sequence[int],
        nulls: bytes | memoryview,
        over: Mapping[int, str | None] | None = None,
    ) -> None:
        if len(starts) != len(nulls) + 1:
            raise ValueError("packed column offsets do not match its rows")
        self.data, self.starts, self.nulls = data, starts, nulls
        self._over = dict(over) if over else None
        self._list: tuple[str | None, ...] | None = None

    @classmethod
    def pack(cls, values: Sequence[str | None]) -> PackedText:
        encoded = [value.encode("utf-8") if value else b"" for value in values]
        starts = array("q", accumulate(map(len, encoded), initial=0))
        nulls = bytes(value is None for value in values)
        return cls(b"".join(encoded), starts, nulls)

    def __len__(self) -> int:
        return len(self.nulls)

    def __getitem__(self, row: Any) -> Any:
        if isinstance(row, slice):
            return list(self.tolist()[row])
        if self._list is not None:
            return self._list[row]
        row = range(len(self.nulls))[row]  # negative rows, and IndexError like a list
        if self._over is not None and row in self._over:
            return self._over[row]
        if self.nulls[row]:
            return None
        return str(self.data[self.starts[row] : self.starts[row + 1]], "utf-8")

    def __iter__(self) -> Iterator[str | None]:
        return iter(self.tolist())

    def tolist(self) -> tuple[str | None, ...]:
        """Every row (made once: a whole-column read is a bulk job)."""
        if self._list is None:
            data, starts, nulls = bytes(self.data), self.starts, self.nulls
            if data.isascii():  # one decode, then slices: character and byte offsets agree
                text = data.decode("ascii")
                self._list = tuple(
                    [
                        None if nulls[i] else text[starts[i] : starts[i + 1]]
                        for i in range(len(nulls))
                    ]
                )
            else:
                self._list = tuple(
                    [
                        None if nulls[i] else str(data[starts[i] : starts[i + 1]], "utf-8")
                        for i in range(len(nulls))
                    ]
                )
            if self._over is not None:
                values = list(self._list)
                for row, value in self._over.items():
                    values[row] = value
                self._list = tuple(values)
        return self._list

    def state(self) -> tuple[bytes, bytes, bytes]:
        if self._over is not None:
            return self._spliced().state()
        return bytes(self.data), _bytes(self.starts), bytes(self.nulls)

    def replaced(self, rows: Mapping[int, str | None]) -> PackedText:
        """A copy with the given rows' text replaced, laid over the same buffer."""
        return PackedText(self.data, self.starts, self.nulls, {**(self._over or {}), **rows})

    def _spliced(self) -> PackedText:
        """The column packed again with the rows laid over it: the bytes between them are
        copied whole and only the offsets after a changed row move (no row is decoded)."""
        rows = self._over or {}
        data, starts = self.data, self.starts
        nulls = bytearray(self.nulls)
        offsets = array("q", starts)
        pieces: list[bytes | memoryview] = []
        copied = shift = 0
        changed = sorted(rows)
        for number, row in enumerate(changed):
            value = rows[row]
            encoded = value.encode("utf-8") if value else b""
            nulls[row] = value is None
            pieces.append(memoryview(data)[copied : starts[row]])
            pieces.append(encoded)
            copied = starts[row + 1]
            shift += len(encoded) - (starts[row + 1] - starts[row])
            following = changed[number + 1] if number + 1 < len(changed) else len(nulls)
            for i in range(row + 1, following + 1):
                offsets[i] += shift
        pieces.append(memoryview(data)[copied:])
        return PackedText(b"".join(pieces), offsets, bytes(nulls))

    @classmethod
    def from_state(
        cls, state: tuple[bytes | memoryview, bytes | memoryview, bytes | memoryview]
    ) -> PackedText:
        data, starts, nulls = state
        return cls(data, int_view(starts), nulls)


_DATE, _DATETIME = "\0date", "\0datetime"  # in a tuple: YAML never yields tuples


def _to_plain(value: Any) -> Any:
    """YAML's values with dates and datetimes as tagged tuples, so `marshal` can store them."""
    if isinstance(value, dict):
        return {_to_plain(key): _to_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_plain(item) for item in value]
    if isinstance(value, datetime):
        return (_DATETIME, value.isoformat())
    if isinstance(value, date):
        return (_DATE, value.isoformat())
    return value


def _from_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {_from_plain(key): _from_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_plain(item) for item in value]
    if isinstance(value, tuple) and len(value) == 2:
        if value[0] == _DATETIME:
            return datetime.fromisoformat(value[1])
        if value[0] == _DATE:
            return date.fromisoformat(value[1])
    return value


def _bytes(values: Sequence[int]) -> bytes:
    """The bytes of an int array or view, as stored."""
    return values.tobytes()  # type: ignore[attr-defined, no-any-return]


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
        """Columns from entity objects, each repeated value stored once (column by column, so
        the loops run in C: a third of a second saved per 100k entities)."""
        rows = list(entities)
        shared: dict[Any, Any] = {}
        file_index: dict[str, int] = {}
        columns: list[Column] = []
        for name in COLUMNS:
            values: list[Any] = list(map(attrgetter(name), rows))
            if name == "file":
                columns.append(
                    array("q", [file_index.setdefault(f, len(file_index)) for f in values])
                )
            elif name in INT_COLUMNS:
                columns.append(array("q", values))
            elif name in PACKED_COLUMNS:
                columns.append(PackedText.pack(values))
            elif name in SHARED_COLUMNS:
                if values and isinstance(values[0], tuple):
                    distinct: dict[tuple[str, ...], tuple[str, ...]] = {}
                    for value in values:
                        if value not in distinct:
                            distinct[value] = tuple(map(shared.setdefault, value, value))
                    values = list(map(distinct.__getitem__, values))
                columns.append(tuple(map(shared.setdefault, values, values)))
            else:
                columns.append(tuple(values))  # tuples of strings leave the collector's scans
        specs = {row: entity.spec for row, entity in enumerate(rows) if entity.spec}
        return cls(columns, list(file_index), specs)

    # -- the cache's form -----------------------------------------------------------------------

    def state(self) -> tuple[list[Any], list[str], bytes]:
        """Plain values for `marshal`: tuples, strings and bytes."""
        columns: list[Any] = []
        for column in self.columns:
            if isinstance(column, PackedText):
                columns.append(column.state())
            elif isinstance(column, array | memoryview):
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
                columns.append(int_view(column))
            else:
                columns.append(tuple(column))
        return cls(columns, list(files), None, blob)

    def specs_blob(self) -> bytes:
        """The sparse specs, marshalled (YAML's dates as tagged ISO strings: marshal has none)."""
        if self._specs_blob is None:
            self._specs_blob = marshal.dumps(_to_plain(self._specs or {}))
        return self._specs_blob

    def with_rows(self, entities: Mapping[int, Entity]) -> EntityTable:
        """A copy with the given rows' `PATCHABLE` fields taken from `entities`; every other
        field, and the spec, must be the same already (see `graph.patch`). Unchanged columns are
        shared, and so are the specs and the row index."""
        return self.with_values(patch_values(entities))

    def with_values(self, rows: Mapping[int, Sequence[Any]]) -> EntityTable:
        """`with_rows` from each row's `PATCHABLE` values, in that order (`patch_values`)."""
        columns = list(self.columns)
        for field_number, name in enumerate(PATCHABLE):
            position = COLUMNS.index(name)
            column = columns[position]
            values = {row: found[field_number] for row, found in rows.items()}
            if all(column[row] == value for row, value in values.items()):
                continue
            if isinstance(column, PackedText):
                columns[position] = column.replaced(values)
            else:
                patched = list(column)
                for row, value in values.items():
                    patched[row] = value
                columns[position] = tuple(patched)
        table = EntityTable(columns, self.files, self._specs, self._specs_blob)
        table._index = self._index
        return table

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

    def _spec_rows(self) -> dict[int, dict[str, Any]]:
        if self._specs is None:
            self._specs = _from_plain(marshal.loads(self._specs_blob)) if self._specs_blob else {}
        return self._specs

    def spec(self, row: int) -> dict[str, Any]:
        """The spec fields of a row that no column holds (custom fields), a fresh dict."""
        found = self._spec_rows().get(row)
        return dict(found) if found else {}

    def entities(self) -> list[Entity]:
        """A new Entity for every row, in row order: one pass per column, not per entity."""
        columns: list[Iterable[Any]] = []
        for i, column in enumerate(self.columns):
            if i == FILE_COLUMN:
                files = self.files
                columns.append([files[number] for number in column])
            elif isinstance(column, PackedText):
                columns.append(column.tolist())
            else:
                columns.append(column)
        specs = self._spec_rows()
        spec_column = [dict(specs[row]) if row in specs else {} for row in range(len(self))]
        return list(map(Entity, *columns, spec_column))

    def entity(self, row: int) -> Entity:
        """A new Entity for `row`."""
        values = [column[row] for column in self.columns]
        values[FILE_COLUMN] = self.files[values[FILE_COLUMN]]
        return Entity(*values, self.spec(row))


def patch_values(entities: Mapping[int, Entity]) -> dict[int, tuple[Any, ...]]:
    """Each row's `PATCHABLE` values, in that order: plain data, for `graph.cache` to store."""
    return {
        row: tuple(getattr(entity, name) for name in PATCHABLE) for row, entity in entities.items()
    }


class EntityMap(Mapping[str, Entity]):
    """The catalog's entities by canonical ref, made on first access and kept."""

    __slots__ = ("_all", "_made", "table")

    def __init__(self, table: EntityTable) -> None:
        self.table = table
        self._made: dict[str, Entity] = {}
        self._all: list[Entity] | None = None

    def all(self) -> list[Entity]:
        """Every entity in row order, those not made yet made in one pass (reading the whole
        catalog is a bulk job: stats, checks, exports)."""
        if self._all is None:
            with paused_gc():
                fresh = self.table.entities()
                made = self._made
                self._all = [
                    made.setdefault(ref, entity)
                    for ref, entity in zip(self.table.refs, fresh, strict=True)
                ]
        return self._all

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
        if self._all is not None:
            return self._all[row]
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
        return iter(self._map.all())

    def __contains__(self, value: object) -> bool:
        return any(value == entity for entity in self)


class _Items(Iterable[tuple[str, Entity]]):
    __slots__ = ("_map",)

    def __init__(self, entity_map: EntityMap) -> None:
        self._map = entity_map

    def __len__(self) -> int:
        return len(self._map)

    def __iter__(self) -> Iterator[tuple[str, Entity]]:
        return zip(self._map.table.refs, self._map.all(), strict=True)
