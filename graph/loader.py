"""Loading a catalog from files and directories: the only part of `graph` that touches the disk.

Catalog paths hold Backstage YAML (`*.yaml`, `*.yml`, searched recursively in directories, and
Location targets followed relative to the Location's file); lineage paths hold OpenLineage
RunEvents (`*.json`, `*.ndjson`, `*.jsonl`). Every file is read once however it was reached,
through `graph.sources`, which remembers what was read so that `graph.cache` can tell later
whether a cached catalog still matches the files. Content problems never raise: they land in
`Catalog.problems` and everything else loads. The YAML and pydantic readers are imported only
when files are actually read, so a cached load never pays for them.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from graph.cache import read_cached, write_cached
from graph.errors import CatalogError
from graph.model import Catalog
from graph.sources import Sources

if TYPE_CHECKING:
    from graph.backstage import LocationTarget
    from graph.builder import CatalogBuilder

CATALOG_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")
LINEAGE_SUFFIXES: tuple[str, ...] = (".json", ".ndjson", ".jsonl")
GLOB_CHARS = "*?["


def load_catalog(
    catalog_paths: Sequence[Path],
    lineage_paths: Sequence[Path] = (),
    cache_dir: Path | None = None,
) -> Catalog:
    """Read every catalog and lineage file into one linked Catalog.

    Raises CatalogError only when a given path does not exist. With a `cache_dir`, a catalog
    cached there from the same files is returned instead of reading them, and a fresh load is
    cached there (see `graph.cache` for when a cache counts as the same).
    """
    for path in [*catalog_paths, *lineage_paths]:
        if not Path(path).exists():
            raise CatalogError("no such file or directory", file=str(path))
    if cache_dir is not None:
        cached = read_cached(cache_dir, catalog_paths, lineage_paths)
        if cached is not None:
            return cached
    sources = Sources()
    catalog = _read_files(list(catalog_paths), list(lineage_paths), sources)
    if cache_dir is not None:
        write_cached(cache_dir, catalog_paths, lineage_paths, sources, catalog)
    return catalog


def _read_files(catalog_paths: list[Path], lineage_paths: list[Path], sources: Sources) -> Catalog:
    # the readers bring YAML and pydantic: imported only when files are actually read
    from graph.builder import CatalogBuilder
    from graph.lineage import read_lineage_text

    builder = CatalogBuilder()
    _read_catalog(catalog_paths, builder, sources)
    for path in _expand(lineage_paths, LINEAGE_SUFFIXES, sources):
        text = _read_text(path, builder, sources)
        if text is not None:
            read_lineage_text(text, str(path), builder)
    return builder.finish()


def _read_catalog(paths: list[Path], builder: CatalogBuilder, sources: Sources) -> None:
    from graph.backstage import read_document
    from graph.yamldocs import YamlFailure, iter_documents

    queue: deque[tuple[Path, bool]] = deque()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            queue.extend((found, False) for found in sources.walk(path, CATALOG_SUFFIXES))
        else:
            queue.append((path, True))
    seen: set[Path] = set()
    while queue:
        path, strict = queue.popleft()
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        text = _read_text(path, builder, sources)
        if text is None:
            continue
        file = builder.share(str(path))
        for item in iter_documents(text):
            if isinstance(item, YamlFailure):
                builder.problem("error", file, item.line, None, item.message)
                break
            data, lines = item
            for target in read_document(data, lines, file, builder, strict=strict):
                queue.extend((found, True) for found in _follow(path, target, builder, sources))


def _follow(
    location_file: Path, target: LocationTarget, builder: CatalogBuilder, sources: Sources
) -> list[Path]:
    """The files a Location target names, relative to the Location's file; missing ones reported."""
    value = target.target.removeprefix("file:")
    base = location_file.parent
    if any(c in value for c in GLOB_CHARS):
        found = sources.glob(base, value.removeprefix("./"))
        if not found:
            builder.problem(
                "warning",
                str(location_file),
                target.line,
                target.location,
                f"target {target.target} matches no file",
            )
        return found
    path = Path(os.path.normpath(base / value))
    if not sources.is_file(path):
        builder.problem(
            "error",
            str(location_file),
            target.line,
            target.location,
            f"target {target.target} does not exist ({path})",
        )
        return []
    return [path]


def _expand(paths: Sequence[Path], suffixes: tuple[str, ...], sources: Sources) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        files.extend(sources.walk(path, suffixes) if path.is_dir() else [path])
    return files


def _read_text(path: Path, builder: CatalogBuilder, sources: Sources) -> str | None:
    """The file as UTF-8 text, or None with an error naming the line of the first bad byte."""
    try:
        data = sources.read(path)
    except OSError as exc:
        builder.problem("error", str(path), None, None, f"cannot read: {exc.strerror or exc}")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        builder.problem(
            "error",
            str(path),
            line,
            None,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
        )
        return None
