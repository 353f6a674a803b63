"""A cached catalog brought up to date in place after some of its files were edited (issue 16).

Why: loading a 1M-entity catalog again because one description changed costs a minute (every
file's part read back, a million entities replayed and linked), where the answer differs from
the cached catalog in a few rows. So when the only change is in catalog files' contents, each
changed file is parsed again and its new part compared with the part the cache was built from
(`graph.parts`, kept by content): when they differ only in what an entity says about itself
(`graph.table.PATCHABLE`: title, description, type, tags, ...), nothing
derived from the files can have changed (the same entities, references, edges, problems,
duplicates, Location targets and rotations), so the cached table gets those rows' new values,
and only those rows are stored, beside the cache file (`graph.cache.write_rows`: writing 300 MB
again cost more than the rest of the patch). Any other difference, a new or removed file, a lineage file, a part that
is not in the part cache: `None`, and the loader reads everything as before. The result is the
catalog a full load gives (tests/graph/test_patch.py compares them).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from graph.cache import code_key, read_changed, write_cached, write_rows
from graph.forked import ParseAside
from graph.model import Catalog
from graph.parts import EntityRecord, Part, PartCache, load_part
from graph.records import Entity, Problem
from graph.sources import Stamp
from graph.table import PATCHABLE, EntityTable, patch_values

# Entity fields that must be the same in the old and new part for the patch to hold.
_FIXED: tuple[str, ...] = tuple(
    name
    for name in Entity.__dataclass_fields__  # type: ignore[attr-defined]
    if name not in PATCHABLE
)


FORK_MIN_BYTES = 64 * 1024 * 1024
"""A cached catalog this large takes long enough to decode (a 1M-entity one: 300 MB, most of a
second) that the changed files are parsed beside the decode, in a forked child
(`graph.forked`); a smaller one decodes faster than a fork pays off."""


ROWS_FILE_MAX = 50_000
"""Patched rows kept beside the cache file (`graph.cache.write_rows`) before the whole cache is
written again with them: a cached load lays every one over its columns."""


class _Refused(Exception):
    """A changed file cannot be patched (not UTF-8, or no part kept for it): load everything."""


def patch_cached(
    cache_dir: Path, catalog_paths: Sequence[Path], lineage_paths: Sequence[Path]
) -> Catalog | None:
    """The cached catalog with the edited files' entities patched, stored again; or None when
    the edits are not of the kind a patch can follow (then load everything)."""
    parts = PartCache(Path(cache_dir) / "parts", code_key())
    plan: list[tuple[str, Stamp, str, bool, bytes]] = []  # file, stamp now, old key, strict, old
    parsing: list[ParseAside] = []

    def start(changed: dict[str, tuple[bytes, Stamp, bytes]], payload_size: int) -> None:
        """Find each changed file's old part and start parsing its new text."""
        jobs: list[tuple[str, str, bool]] = []
        for file, (data, stamp, recorded) in changed.items():
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise _Refused(file) from None  # a new problem to report: the full load says where
            for strict in (False, True):  # how the file was reached is part of its key
                old_key = parts.key(recorded, file, strict)
                cached = parts.get(old_key)
                if cached is not None:
                    break
            else:
                raise _Refused(file)  # not a catalog file whose part we kept (a lineage file...)
            plan.append((file, stamp, old_key, strict, cached))
            jobs.append((text, file, strict))
        parsing.append(ParseAside(jobs, fork=payload_size >= FORK_MIN_BYTES))

    stale = read_changed(cache_dir, catalog_paths, lineage_paths, start)
    if stale is None or not parsing:
        for pending in parsing:
            pending.discard()
        return None
    catalog, sources = stale.catalog, stale.sources
    rows: dict[int, Entity] = {}
    replaced: list[tuple[str, str, bytes]] = []
    for (file, stamp, old_key, strict, cached), data in zip(plan, parsing[0].result(), strict=True):
        assert stamp is not None
        new_key = parts.key(stamp[2], file, strict)
        old, new = load_part(cached), load_part(data)
        patched = None if old is None or new is None else changed_rows(catalog, file, old, new)
        if patched is None:
            parts.put(new_key, data)  # the full load that follows need not parse it again
            return None
        rows.update(patched)
        replaced.append((old_key, new_key, data))
        sources[0][file] = stamp
    values = patch_values(rows)
    if values:
        catalog = catalog.with_table(catalog.table.with_values(values))
    if len(stale.rows) + len(values) > ROWS_FILE_MAX:
        write_cached(cache_dir, catalog_paths, lineage_paths, sources, catalog)
    else:
        write_rows(cache_dir, catalog_paths, lineage_paths, stale, values)
    for old_key, new_key, data in replaced:
        parts.put(new_key, data)
        if old_key != new_key:
            parts.remove(old_key)
    return catalog


def changed_rows(catalog: Catalog, file: str, old: Part, new: Part) -> dict[int, Entity] | None:
    """The catalog rows `file`'s new part changes, with their new entities, or None when the
    new part differs from the old in more than `PATCHABLE` fields. A row is patched
    only where the catalog holds this file's definition (not a duplicate defined first
    elsewhere, nor an entity a lineage file filled in)."""
    if len(old) != len(new):
        return None
    table = catalog.table
    lines = table.column("line")
    own = _rows_of_file(table, file)
    rows: dict[int, Entity] = {}
    for before, after in zip(old, new, strict=True):
        if isinstance(before, Problem) or isinstance(after, Problem):
            if before != after:
                return None
            continue
        assert isinstance(before, EntityRecord) and isinstance(after, EntityRecord)
        if (
            before.pending != after.pending
            or before.rotation != after.rotation
            or before.targets != after.targets
        ):
            return None
        was, now = before.entity, after.entity
        if any(getattr(was, name) != getattr(now, name) for name in _FIXED):
            return None
        if (was.description is None) != (now.description is None):
            return None  # a lineage file may fill in a missing description
        if all(getattr(was, name) == getattr(now, name) for name in PATCHABLE):
            continue
        row = own.get(now.ref)
        if row is None:
            if table.row(now.ref) is None:
                return None
            continue  # defined first in another file: that definition stays
        if lines[row] == now.line:
            rows[row] = now
    return rows


def _rows_of_file(table: EntityTable, file: str) -> dict[str, int]:
    """The rows whose entity `file` defines, by ref. A file's rows are consecutive (entities
    are added file by file), so they are found from the first and last row naming the file,
    without indexing a million refs (a third of a second) to patch a few thousand."""
    try:
        number = table.files.index(file)
    except ValueError:
        return {}
    column = table.column("file")
    raw = memoryview(column).cast("B").tobytes()  # type: ignore[arg-type]
    needle = number.to_bytes(_INT, sys.byteorder, signed=True)
    first, last = _aligned_find(raw, needle), _aligned_rfind(raw, needle)
    if first < 0:
        return {}
    refs = table.refs
    return {
        refs[row]: row for row in range(first // _INT, last // _INT + 1) if column[row] == number
    }


_INT = 8  # bytes per row of an integer column


def _aligned_find(data: bytes, needle: bytes) -> int:
    at = data.find(needle)
    while at >= 0 and at % _INT:
        at = data.find(needle, at + 1)
    return at


def _aligned_rfind(data: bytes, needle: bytes) -> int:
    at = data.rfind(needle)
    while at >= 0 and at % _INT:
        at = data.rfind(needle, 0, at + _INT - 1)
    return at
