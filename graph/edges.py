"""Data-flow edges between entity rows, stored both ways in compressed sparse row form.

Why not a dict of dicts of refs: at 100k assets that is 200k small dicts and 190k explanation
strings — hundreds of megabytes, slow to cache and slow to walk. Here an edge is a few integers:
`down_to[down_start[s]:down_start[s + 1]]` are the rows `s` feeds (in the order the edges were
found), `up_from[up_start[t]:up_start[t + 1]]` the rows that feed `t`. Where an edge came from is
kept as (file, line, note) and written out as text only when someone reads it. `Adjacency` shows
one direction as the `Mapping[str, Mapping[str, str]]` the rest of the code expects.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from graph.table import EntityTable

# How a note explains an edge (its first character), given the edge's two ends:
REFERRER_IS_TARGET = "<"  # "file:line (target field source)": target dependsOn source
REFERRER_IS_SOURCE = ">"  # "file:line (source field target)": source dependencyOf target
WHOLE_TEXT = "="  # "file:line (note)": e.g. an OpenLineage run

Direction = Literal["down", "up"]
# An `array("i")` when built, a `memoryview` of the cache file when loaded: both index alike.
Ints: TypeAlias = "array[int] | memoryview"


def _ints(values: Sequence[int] = ()) -> array[int]:
    return array("i", values)


class EdgeIndex:
    """Every data-flow edge once (the first origin seen for a pair is kept), both directions."""

    __slots__ = (
        "_lists",
        "down_start",
        "down_to",
        "files",
        "notes",
        "origin_file",
        "origin_line",
        "origin_note",
        "size",
        "up_edge",
        "up_from",
        "up_start",
    )

    def __init__(
        self,
        size: int,
        down_start: Ints,
        down_to: Ints,
        up_start: Ints,
        up_from: Ints,
        up_edge: Ints,
        origin: tuple[Ints, Ints, Ints],
        files: list[str],
        notes: list[str],
    ) -> None:
        self.size = size
        self.down_start, self.down_to = down_start, down_to
        self.up_start, self.up_from, self.up_edge = up_start, up_from, up_edge
        self.origin_file, self.origin_line, self.origin_note = origin
        self.files, self.notes = files, notes
        self._lists: dict[Direction, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    @classmethod
    def empty(cls, size: int) -> EdgeIndex:
        starts = _ints([0] * (size + 1))
        return cls(
            size, starts, _ints(), starts, _ints(), _ints(), (_ints(), _ints(), _ints()), [], []
        )

    @classmethod
    def build(
        cls,
        size: int,
        sources: Sequence[int],
        targets: Sequence[int],
        origin: tuple[Sequence[int], Sequence[int], Sequence[int]],
        files: list[str],
        notes: list[str],
    ) -> EdgeIndex:
        """From edges in the order they were found; a repeated (source, target) pair is dropped."""
        seen: set[int] = set()
        kept: list[int] = []
        for edge, (source, target) in enumerate(zip(sources, targets, strict=True)):
            key = source * size + target
            if key not in seen:
                seen.add(key)
                kept.append(edge)
        del seen
        # stable sorts keep each row's neighbours in the order the edges were found
        down = sorted(kept, key=sources.__getitem__)
        position = [0] * len(sources)
        for i, edge in enumerate(down):
            position[edge] = i
        up = sorted(kept, key=targets.__getitem__)
        files_of, lines_of, notes_of = origin
        return cls(
            size,
            _starts(size, [sources[e] for e in down]),
            _ints([targets[e] for e in down]),
            _starts(size, [targets[e] for e in up]),
            _ints([sources[e] for e in up]),
            _ints([position[e] for e in up]),
            (
                _ints([files_of[e] for e in down]),
                _ints([lines_of[e] for e in down]),
                _ints([notes_of[e] for e in down]),
            ),
            files,
            notes,
        )

    # -- the cache's form -----------------------------------------------------------------------

    def state(self) -> tuple[int, list[bytes], list[str], list[str]]:
        """Plain values for `marshal`: the arrays as bytes (read back in place, see `from_state`)."""
        arrays = [
            self.down_start,
            self.down_to,
            self.up_start,
            self.up_from,
            self.up_edge,
            self.origin_file,
            self.origin_line,
            self.origin_note,
        ]
        return self.size, [a.tobytes() for a in arrays], self.files, self.notes  # type: ignore[misc]

    @classmethod
    def from_state(cls, state: tuple[int, list[bytes], list[str], list[str]]) -> EdgeIndex:
        size, blobs, files, notes = state
        arrays = [memoryview(blob).cast("B").cast("i") for blob in blobs]
        if len(arrays) != 8 or len(arrays[0]) != size + 1 or len(arrays[2]) != size + 1:
            raise ValueError("edge arrays do not match the entity count")
        down_start, down_to, up_start, up_from, up_edge, o_file, o_line, o_note = arrays
        origin = (o_file, o_line, o_note)
        return cls(
            size, down_start, down_to, up_start, up_from, up_edge, origin, list(files), list(notes)
        )

    # -- reading --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.down_to)

    def lists(self, direction: Direction) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(starts, neighbours) as tuples: slicing and iterating them is what a walk does most,
        and tuples of ints do it faster than arrays (and, unlike lists, drop out of the garbage
        collector's scans once it has seen that they hold only ints). Made once per direction."""
        found = self._lists.get(direction)
        if found is None:
            if direction == "down":
                found = (tuple(self.down_start), tuple(self.down_to))
            else:
                found = (tuple(self.up_start), tuple(self.up_from))
            self._lists[direction] = found
        return found

    def origin_text(self, edge: int, source: str, target: str) -> str:
        """Where downstream edge number `edge` (source → target) came from, for a person."""
        where = self.files[self.origin_file[edge]]
        line = self.origin_line[edge]
        if line:
            where = f"{where}:{line}"
        note = self.notes[self.origin_note[edge]]
        how, text = note[:1], note[1:]
        if how == REFERRER_IS_TARGET:
            return f"{where} ({target} {text} {source})"
        if how == REFERRER_IS_SOURCE:
            return f"{where} ({source} {text} {target})"
        return f"{where} ({text})"

    def note_of(self, edge: int) -> str:
        return self.notes[self.origin_note[edge]]


def _starts(size: int, rows: list[int]) -> array[int]:
    """CSR offsets for edges already sorted by row: starts[r]..starts[r + 1] are row r's."""
    counts = [0] * (size + 1)
    for row in rows:
        counts[row + 1] += 1
    return _ints(list(accumulate(counts)))


class Adjacency(Mapping[str, Mapping[str, str]]):
    """One direction of the edges as `{ref: {neighbour ref: origin text}}`, made on access.

    Only entities with at least one edge in this direction are keys, as in a dict of dicts.
    """

    __slots__ = ("_direction", "_edges", "_table")

    def __init__(self, edges: EdgeIndex, table: EntityTable, direction: Direction) -> None:
        self._edges = edges
        self._table = table
        self._direction = direction

    def _span(self, row: int) -> tuple[int, int]:
        starts = self._edges.down_start if self._direction == "down" else self._edges.up_start
        return starts[row], starts[row + 1]

    def __getitem__(self, ref: str) -> dict[str, str]:
        row = self._table.index.get(ref)
        if row is None:
            raise KeyError(ref)
        first, end = self._span(row)
        if first == end:
            raise KeyError(ref)
        edges, refs = self._edges, self._table.refs
        found: dict[str, str] = {}
        if self._direction == "down":
            for edge in range(first, end):
                target = refs[edges.down_to[edge]]
                found[target] = edges.origin_text(edge, ref, target)
        else:
            for i in range(first, end):
                source = refs[edges.up_from[i]]
                found[source] = edges.origin_text(edges.up_edge[i], source, ref)
        return found

    def __contains__(self, ref: object) -> bool:
        row = self._table.index.get(ref) if isinstance(ref, str) else None
        if row is None:
            return False
        first, end = self._span(row)
        return first != end

    def __iter__(self) -> Iterator[str]:
        starts = self._edges.down_start if self._direction == "down" else self._edges.up_start
        refs = self._table.refs
        return (refs[row] for row in range(self._edges.size) if starts[row] != starts[row + 1])

    def __len__(self) -> int:
        starts = self._edges.down_start if self._direction == "down" else self._edges.up_start
        return sum(1 for row in range(self._edges.size) if starts[row] != starts[row + 1])

    def __repr__(self) -> str:
        return f"Adjacency({self._direction}, {len(self._edges)} edges)"
