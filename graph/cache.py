"""A parsed catalog kept on disk, so a large catalog opens in a fraction of a second.

One file per set of requested paths, `catalog-<hash of the paths>.bin` in the cache directory:

    MAGIC | header length (8 bytes, little-endian) | marshal(header) | marshal(catalog state)

The header holds the code key and the `graph.sources` record of every file-system fact the load
depended on. The cached catalog is used only when the code key matches (cache format, Python's
`marshal` version, byte order, and a digest of `graph`'s own source files, so changing the loader
invalidates every cache) and `graph.sources.verify` finds every fact still true. The payload is
decoded only after that, with the garbage collector paused: it is a few hundred thousand plain
strings, lists and byte arrays, which `marshal` reads at memory speed.

Why `marshal` and not pickle: the state is plain data by design (`Catalog.state`), `marshal`
reads it about a third faster, and it cannot be made to run code. Writes go to a temporary file
in the same directory and are renamed into place, so a reader never sees half a file. A cache
that is missing, truncated, corrupt, from another version or stale is ignored and rebuilt; a
cache directory that cannot be written is skipped. The cache can only make a load faster.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graph.gcpause import paused_gc
from graph.model import Catalog
from graph.sources import Sources, verify

MAGIC = b"oncall catalog cache\n"
FORMAT_VERSION = 1
_LENGTH_BYTES = 8

_code_key: str | None = None


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
            if handle.read(len(MAGIC)) != MAGIC:
                return None
            length = int.from_bytes(handle.read(_LENGTH_BYTES), "little")
            header = marshal.loads(handle.read(length))
            if header["code"] != code_key():
                return None
            valid, refreshed = verify(header["sources"])
            if not valid:
                return None
            payload = handle.read()
        catalog = _decode(payload)
    except Exception:
        return None
    if refreshed:
        _write(path, header, payload)
    return catalog


def write_cached(
    cache_dir: Path,
    catalog_paths: Sequence[Path],
    lineage_paths: Sequence[Path],
    sources: Sources,
    catalog: Catalog,
) -> None:
    """Store `catalog` as built from `sources`; failing to store it changes nothing."""
    try:
        payload = marshal.dumps(catalog.state())
    except ValueError:  # something marshal cannot hold slipped into the state: do not cache
        return
    header = {"code": code_key(), "sources": sources.state()}
    _write(cache_file(cache_dir, catalog_paths, lineage_paths), header, payload)


def _decode(payload: bytes) -> Catalog:
    with paused_gc():  # nothing here can form a cycle; collecting while building them is waste
        state: Any = marshal.loads(payload)
        return Catalog.from_state(state)


def _write(path: Path, header: dict[str, Any], payload: bytes) -> None:
    head = marshal.dumps(header)
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp"
        )
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(MAGIC)
            handle.write(len(head).to_bytes(_LENGTH_BYTES, "little"))
            handle.write(head)
            handle.write(payload)
        os.replace(temporary, path)
        temporary = None
    except OSError:
        pass  # a read-only or full disk: the next load simply reads the files again
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
