"""Loading a catalog from files and directories: the only part of `graph` that touches the disk.

Catalog paths hold Backstage YAML (`*.yaml`, `*.yml`, searched recursively in directories, and
Location targets followed relative to the Location's file); lineage paths hold OpenLineage
RunEvents (`*.json`, `*.ndjson`, `*.jsonl`). Every file is read once however it was reached.
Content problems never raise: they land in `Catalog.problems` and everything else loads.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from graph.backstage import LocationTarget, read_document
from graph.builder import CatalogBuilder
from graph.errors import CatalogError
from graph.lineage import read_lineage_text
from graph.model import Catalog
from graph.yamldocs import YamlFailure, iter_documents

CATALOG_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")
LINEAGE_SUFFIXES: tuple[str, ...] = (".json", ".ndjson", ".jsonl")
GLOB_CHARS = "*?["


def load_catalog(
    catalog_paths: Sequence[Path],
    lineage_paths: Sequence[Path] = (),
    cache_dir: Path | None = None,
) -> Catalog:
    """Read every catalog and lineage file into one linked Catalog.

    Raises CatalogError only when a given path does not exist. `cache_dir` is where a parsed
    catalog may be cached by content hash; this loader does not use it yet (it reads in linear
    time, and the Catalog is plain data that pickles as it is).
    """
    del cache_dir
    for path in [*catalog_paths, *lineage_paths]:
        if not Path(path).exists():
            raise CatalogError("no such file or directory", file=str(path))
    builder = CatalogBuilder()
    _read_catalog(list(catalog_paths), builder)
    for path in _expand(lineage_paths, LINEAGE_SUFFIXES):
        text = _read_text(path, builder)
        if text is not None:
            read_lineage_text(text, str(path), builder)
    return builder.finish()


def _read_catalog(paths: list[Path], builder: CatalogBuilder) -> None:
    queue: deque[tuple[Path, bool]] = deque()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            queue.extend((found, False) for found in _files_under(path, CATALOG_SUFFIXES))
        else:
            queue.append((path, True))
    seen: set[Path] = set()
    while queue:
        path, strict = queue.popleft()
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        text = _read_text(path, builder)
        if text is None:
            continue
        file = str(path)
        for item in iter_documents(text):
            if isinstance(item, YamlFailure):
                builder.problem("error", file, item.line, None, item.message)
                break
            data, lines = item
            for target in read_document(data, lines, file, builder, strict=strict):
                queue.extend((found, True) for found in _follow(path, target, builder))


def _follow(location_file: Path, target: LocationTarget, builder: CatalogBuilder) -> list[Path]:
    """The files a Location target names, relative to the Location's file; missing ones reported."""
    value = target.target.removeprefix("file:")
    base = location_file.parent
    if any(c in value for c in GLOB_CHARS):
        pattern = value.removeprefix("./")
        found = sorted(p for p in base.glob(pattern) if p.is_file())
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
    if not path.is_file():
        builder.problem(
            "error",
            str(location_file),
            target.line,
            target.location,
            f"target {target.target} does not exist ({path})",
        )
        return []
    return [path]


def _expand(paths: Sequence[Path], suffixes: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        files.extend(_files_under(path, suffixes) if path.is_dir() else [path])
    return files


def _files_under(directory: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Matching files below `directory`, sorted, skipping hidden files and directories."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(root) / name
            for name in sorted(files)
            if name.endswith(suffixes) and not name.startswith(".")
        )
    return found


def _read_text(path: Path, builder: CatalogBuilder) -> str | None:
    """The file as UTF-8 text, or None with an error naming the line of the first bad byte."""
    try:
        data = path.read_bytes()
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
