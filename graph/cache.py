"""A parsed catalog kept on disk, so a large catalog opens in a fraction of a second.

One file per set of requested paths, `catalog-<hash of the paths>.bin` in the cache directory:

    MAGIC | header length (8 bytes, little-endian) | marshal(header) | padding | payload

The header holds the code key, the `graph.sources` record of every file-system fact the load
depended on, and where the payload's parts lie. The cached catalog is used only when the code key
matches (cache format, Python's `marshal` version, byte order, and a digest of `graph`'s own
source files, so changing the loader invalidates every cache) and `graph.sources.verify` finds
every fact still true.

The payload is `Catalog.state()`, plain data by design, split in two: its structure (the columns
of strings, the indexes) as one `marshal` blob, and every large byte string (integer arrays, the
packed text columns) as a raw, 8-byte aligned section. The file is memory-mapped and the raw
sections are used in place, so a column or the edge arrays cost nothing until a query reads
them, and only the structure is decoded up front, with the garbage collector paused. `marshal`
rather than pickle: it reads plain data about a third faster, and loading it never calls code
named by the data.

Beside it, `catalog-<hash>.rows` may hold what `graph.patch` changed since (the rows whose
self-descriptions were edited, and the refreshed record of the files), naming the id of the cache
file it applies to: after an edit to one file of a 1M-entity catalog, the 300 MB cache file is
not written again, only these few rows, which a cached load lays over the columns it maps.

Writes go to a temporary file in the same directory and are renamed into place, so a reader
never sees half a file (and a mapped file is never changed under a reader). A cache that is
missing, truncated, corrupt, from another version or stale is ignored and rebuilt; a cache
directory that cannot be written is skipped. The cache can only make a load faster.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import mmap
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from graph.gcpause import paused_gc
from graph.model import Catalog
from graph.sources import Sources, Stamp, changed_files, verify

MAGIC = b"oncall catalog cache\n"
ROWS_MAGIC = b"oncall catalog rows\n"
FORMAT_VERSION = 4  # 4: an id per cache file, named by its rows file (graph.patch)
_LENGTH_BYTES = 8
RAW_MIN_BYTES = 4096  # byte strings at least this long are stored raw and read in place
_RAW = "\0raw"  # (_RAW, n) in the structure stands for raw section n
# Only containers this small are searched for byte strings: the structure's skeleton, never
# its columns of 100k strings.
_SKELETON_MAX = 32

_code_key: str | None = None

SourcesState = tuple[dict[str, Stamp], list[Any], list[str]]
"""`Sources.state()`: what a cached catalog was built from."""


def cache_file(
    cache_dir: Path, catalog_paths: Sequence[Path], lineage_paths: Sequence[Path]
) -> Path:
    """Where the catalog for exactly these requested paths is cached."""
    request = repr(
        ([os.path.abspath(p) for p in catalog_paths], [os.path.abspath(p) for p in lineage_paths])
    )
    name = hashlib.blake2b(request.encode(), digest_size=8).hexdigest()
    return Path(cache_dir) / f"catalog-{name}.bin"


def code_key() -> str:
    """What a cache must have been written by: this format, this marshal, this `graph` code."""
    global _code_key
    if _code_key is None:
        sources = hashlib.blake2b(digest_size=16)
        package = Path(__file__).parent
        for path in sorted(package.glob("*.py")):
            sources.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        _code_key = (
            f"{FORMAT_VERSION}/{marshal.version}/{sys.byteorder}/"
            f"{sys.version_info[0]}.{sys.version_info[1]}/{sources.hexdigest()}"
        )
    return _code_key


def read_cached(
    cache_dir: Path, catalog_paths: Sequence[Path], lineage_paths: Sequence[Path]
) -> Catalog | None:
    """The cached catalog for these paths when it is still exactly what a load would give."""
    path = cache_file(cache_dir, catalog_paths, lineage_paths)
    try:
        with open(path, "rb") as handle:
            header, start = _read_header(handle)
            if header is None:
                return None
            sources, rows = _read_rows(path, header)
            valid, refreshed = verify(sources)
            if not valid:
                return None
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        payload = memoryview(mapped)[start:]
        catalog = _decode(payload, header, rows)
    except Exception:
        return None
    if refreshed:
        _write_rows(path, header["id"], sources, rows)
    return catalog


@dataclass(frozen=True)
class Stale:
    """A cached catalog whose files' contents changed since it was written (`read_changed`)."""

    catalog: Catalog
    sources: SourcesState  # what it was built from; unchanged files' stamps refreshed
    changed: dict[str, tuple[bytes, Stamp, bytes]]  # file → (bytes now, stamp now, old digest)
    base: str  # the id of the cache file it was read from, for `write_rows`
    rows: dict[int, tuple[Any, ...]]  # the rows patched over that file already (`write_rows`)


def read_changed(
    cache_dir: Path,
    catalog_paths: Sequence[Path],
    lineage_paths: Sequence[Path],
    on_changed: Callable[[dict[str, tuple[bytes, Stamp, bytes]], int], object] | None = None,
) -> Stale | None:
    """The cached catalog although some of its files' contents changed since: with the record
    of what it was built from (unchanged files' stamps refreshed) and the changed files (their
    bytes now, their stamps now, the digests it was built from), for `graph.patch`. None when
    there is no usable cache, nothing changed, or something besides file contents did (a file
    appeared or went, a listing differs).

    `on_changed(changed, payload bytes)` is called once the changed files are known and before
    the cached catalog is decoded, so their parse can start beside the decode."""
    path = cache_file(cache_dir, catalog_paths, lineage_paths)
    try:
        with open(path, "rb") as handle:
            header, start = _read_header(handle)
            if header is None:
                return None
            sources, rows = _read_rows(path, header)
            changed = changed_files(sources)
            if not changed:
                return None
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if on_changed is not None:
            on_changed(changed, len(mapped) - start)
        payload = memoryview(mapped)[start:]
        catalog = _decode(payload, header, rows)
    except Exception:
        return None
    return Stale(catalog, sources, changed, header["id"], rows)


def write_rows(
    cache_dir: Path,
    catalog_paths: Sequence[Path],
    lineage_paths: Sequence[Path],
    stale: Stale,
    rows: dict[int, tuple[Any, ...]],
) -> None:
    """Store the rows `graph.patch` changed (with those patched before, and the refreshed
    record of the files) beside the cache file `stale` was read from, which stays as it is."""
    path = cache_file(cache_dir, catalog_paths, lineage_paths)
    _write_rows(path, stale.base, stale.sources, {**stale.rows, **rows})


def _rows_file(path: Path) -> Path:
    return path.with_suffix(".rows")


def _read_rows(
    path: Path, header: dict[str, Any]
) -> tuple[SourcesState, dict[int, tuple[Any, ...]]]:
    """What the cache file's rows file says (the files' record now, the patched rows), or the
    cache file's own record and no rows when there is no rows file written over this very
    cache file by this code."""
    try:
        data = _rows_file(path).read_bytes()
    except OSError:
        return header["sources"], {}
    if not data.startswith(ROWS_MAGIC):
        return header["sources"], {}
    try:
        found = marshal.loads(memoryview(data)[len(ROWS_MAGIC) :])
    except (EOFError, ValueError, TypeError):
        return header["sources"], {}
    if found.get("code") != header["code"] or found.get("base") != header["id"]:
        return header["sources"], {}
    return found["sources"], found["rows"]


def _write_rows(
    path: Path, base: str, sources: SourcesState, rows: dict[int, tuple[Any, ...]]
) -> None:
    data = ROWS_MAGIC + marshal.dumps(
        {"code": code_key(), "base": base, "sources": sources, "rows": rows}
    )
    _write_file(_rows_file(path), [data])


def _read_header(handle: BinaryIO) -> tuple[dict[str, Any] | None, int]:
    """The header of an open cache file and where its payload starts; None as the header when
    the file is not a cache written by this code."""
    if handle.read(len(MAGIC)) != MAGIC:
        return None, 0
    length = int.from_bytes(handle.read(_LENGTH_BYTES), "little")
    header = marshal.loads(handle.read(length))
    if header["code"] != code_key():
        return None, 0
    return header, _aligned(len(MAGIC) + _LENGTH_BYTES + length)


def write_cached(
    cache_dir: Path,
    catalog_paths: Sequence[Path],
    lineage_paths: Sequence[Path],
    sources: Sources | SourcesState,
    catalog: Catalog,
) -> None:
    """Store `catalog` as built from `sources` (what a load observed, or its recorded state);
    failing to store it changes nothing. A rows file left by patches of the previous cache
    file no longer applies (it names that file's id) and is removed."""
    raws: list[bytes | memoryview] = []
    try:
        skeleton = _take_raws(catalog.state(), raws)
        structure = marshal.dumps(skeleton)
    except ValueError:  # something marshal cannot hold slipped into the state: do not cache
        return
    parts: list[bytes | memoryview] = [structure]
    layout = []
    offset = len(structure)
    for raw in raws:
        padding = _aligned(offset) - offset
        parts.append(b"\0" * padding)
        offset += padding
        layout.append((offset, len(raw)))
        parts.append(raw)
        offset += len(raw)
    header = {
        "code": code_key(),
        "id": os.urandom(8).hex(),
        "sources": sources.state() if isinstance(sources, Sources) else sources,
        "structure": len(structure),
        "raws": layout,
    }
    path = cache_file(cache_dir, catalog_paths, lineage_paths)
    _write(path, header, parts)
    with contextlib.suppress(OSError):
        os.unlink(_rows_file(path))


def _decode(
    payload: memoryview, header: dict[str, Any], rows: dict[int, tuple[Any, ...]]
) -> Catalog:
    raws = [payload[start : start + size] for start, size in header["raws"]]
    with paused_gc():  # nothing here can form a cycle; collecting while building them is waste
        structure = marshal.loads(payload[: header["structure"]])
        catalog = Catalog.from_state(_put_raws(structure, raws))
    if rows:
        catalog = catalog.with_table(catalog.table.with_values(rows))
    return catalog


def _take_raws(value: Any, raws: list[bytes | memoryview]) -> Any:
    """`value` with each large byte string in its skeleton moved to `raws`, leaving a marker.
    A catalog read from a cache holds its raw sections as views of the mapped file: they are
    raw sections again, by their size in bytes."""
    if isinstance(value, memoryview) and value.nbytes >= RAW_MIN_BYTES:
        raws.append(value.cast("B") if value.format != "B" else value)
        return (_RAW, len(raws) - 1)
    if isinstance(value, bytes) and len(value) >= RAW_MIN_BYTES:
        raws.append(value)
        return (_RAW, len(raws) - 1)
    if isinstance(value, dict) and len(value) <= _SKELETON_MAX:
        return {key: _take_raws(item, raws) for key, item in value.items()}
    if isinstance(value, list | tuple) and len(value) <= _SKELETON_MAX:
        items = [_take_raws(item, raws) for item in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def _put_raws(value: Any, raws: list[memoryview]) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == _RAW:
        return raws[value[1]]
    if isinstance(value, dict) and len(value) <= _SKELETON_MAX:
        return {key: _put_raws(item, raws) for key, item in value.items()}
    if isinstance(value, list | tuple) and len(value) <= _SKELETON_MAX:
        items = [_put_raws(item, raws) for item in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def _aligned(offset: int) -> int:
    return (offset + 7) // 8 * 8


def _write(path: Path, header: dict[str, Any], payload: list[bytes | memoryview]) -> None:
    head = marshal.dumps(header)
    start = len(MAGIC) + _LENGTH_BYTES + len(head)
    pieces: list[bytes | memoryview] = [
        MAGIC,
        len(head).to_bytes(_LENGTH_BYTES, "little"),
        head,
        b"\0" * (_aligned(start) - start),
    ]
    _write_file(path, pieces + payload)


def _write_file(path: Path, pieces: list[bytes | memoryview]) -> None:
    """Write atomically: a temporary file in the same directory renamed into place."""
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp"
        )
        with os.fdopen(descriptor, "wb") as handle:
            for piece in pieces:
                handle.write(piece)
        os.replace(temporary, path)
        temporary = None
    except OSError:
        pass  # a read-only or full disk: the next load simply reads the files again
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
