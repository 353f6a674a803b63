"""A cached catalog brought up to date in place after some of its files were edited (issue 16).

Why: loading a 1M-entity catalog again because one description changed costs a minute (every
file's part read back, a million entities replayed and linked), where the answer differs from
the cached catalog in a few rows. So when the only change is in catalog files' contents, each
changed file is parsed again and its new part compared with the part the cache was built from
(`graph.parts`, kept by content): when they differ only in what an entity says about itself
(`graph.table.PATCHABLE`: title, description, type, tags, ...), nothing
derived from the files can have changed (the same entities, references, edges, problems,
duplicates, Location targets and rotations), so the cached table gets those rows' new values
and is stored again. Any other difference, a new or removed file, a lineage file, a part that
is not in the part cache: `None`, and the loader reads everything as before. The result is the
catalog a full load gives (tests/graph/test_patch.py compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from graph.cache import RAW_MIN_BYTES, code_key, read_changed, write_cached
from graph.model import Catalog
from graph.parts import EntityRecord, Part, PartCache, load_part
from graph.records import Entity, Problem
from graph.table import PATCHABLE, EntityTable, PackedText

# Entity fields that must be the same in the old and new part for the patch to hold.
_FIXED: tuple[str, ...] = tuple(
    name
    for name in Entity.__dataclass_fields__  # type: ignore[attr-defined]
    if name not in PATCHABLE
)


def patch_cached(
    cache_dir: Path, catalog_paths: Sequence[Path], lineage_paths: Sequence[Path]
) -> Catalog | None:
    """The cached catalog with the edited files' entities patched, stored again; or None when
    the edits are not of the kind a patch can follow (then load everything)."""
    from graph.parts import parse_to_bytes  # looked up when called, as the loader's pool does

    stale = read_changed(cache_dir, catalog_paths, lineage_paths)
    if stale is None:
        return None
    catalog, sources, changed = stale.catalog, stale.sources, stale.changed
    parts = PartCache(Path(cache_dir) / "parts", code_key())
    rows: dict[int, Entity] = {}
    replaced: list[tuple[str, str, bytes]] = []
    for file, (data, stamp, recorded) in changed.items():
        assert stamp is not None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None  # a new problem to report: the full load says where
        for strict in (False, True):  # how the file was reached is part of its key
            old_key = parts.key(recorded, file, strict)
            cached = parts.get(old_key)
            if cached is not None:
                break
        else:
            return None  # not a catalog file whose part we kept (a lineage file, ...)
        old = load_part(cached)
        if old is None:
            return None
        data = parse_to_bytes((text, file, strict))
        new_key = parts.key(stamp[2], file, strict)
        new = load_part(data)
        patched = None if new is None else changed_rows(catalog, file, old, new)
        if patched is None:
            parts.put(new_key, data)  # the full load that follows need not parse it again
            return None
        rows.update(patched)
        replaced.append((old_key, new_key, data))
        sources[0][file] = stamp
    table = catalog.table.with_rows(rows) if rows else catalog.table
    same = _only_raw_sections_differ(catalog.table, table)
    if table is not catalog.table:
        catalog = catalog.with_table(table)
    write_cached(
        cache_dir,
        catalog_paths,
        lineage_paths,
        sources,
        catalog,
        same_structure=stale.structure if same else None,
    )
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
    files, file_column, lines = table.files, table.column("file"), table.column("line")
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
        row = table.row(now.ref)
        if row is None:
            return None
        if files[file_column[row]] == file and lines[row] == now.line:
            rows[row] = now
    return rows


def _only_raw_sections_differ(before: EntityTable, after: EntityTable) -> bool:
    """Whether the cache's marshalled structure of `after` is that of `before`: every column
    that changed is packed text whose bytes are stored as raw sections before and after (see
    `graph.cache`)."""
    for was, now in zip(before.columns, after.columns, strict=True):
        if now is was:
            continue
        if not (isinstance(was, PackedText) and isinstance(now, PackedText)):
            return False
        if min(len(was.data), len(now.data)) < RAW_MIN_BYTES:
            return False
        if len(was.nulls) < RAW_MIN_BYTES:  # the offsets are 8 times as long
            return False
    return True
