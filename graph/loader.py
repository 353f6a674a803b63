"""Loading a catalog from files and directories: the only part of `graph` that touches the disk.

Catalog paths hold Backstage YAML (`*.yaml`, `*.yml`, searched recursively in directories, and
Location targets followed relative to the Location's file); lineage paths hold OpenLineage
RunEvents (`*.json`, `*.ndjson`, `*.jsonl`). Every file is read once however it was reached,
through `graph.sources`, which remembers what was read so that `graph.cache` can tell later
whether a cached catalog still matches the files. Content problems never raise: they land in
`Catalog.problems` and everything else loads. The YAML and pydantic readers are imported only
when files are actually read, so a cached load never pays for them.

Each catalog file is parsed into a replayable part (`graph.parts`) and the parts are replayed
into one builder in file order: that lets large catalogs be parsed by a process pool, and lets
a cache directory keep each file's part, so after one file changed only that file is parsed
again (issue 16). Either way the catalog, its problems and their order are the serial ones.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.cache import code_key, read_cached, write_cached
from graph.errors import CatalogError
from graph.gcpause import paused_gc
from graph.model import Catalog
from graph.parts import EntityRecord, Part, PartCache, load_part, reshare
from graph.records import Problem
from graph.sources import Sources

if TYPE_CHECKING:
    from graph.backstage import LocationTarget
    from graph.builder import CatalogBuilder

CATALOG_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")
LINEAGE_SUFFIXES: tuple[str, ...] = (".json", ".ndjson", ".jsonl")
GLOB_CHARS = "*?["


PARALLEL_MIN_BYTES = 16 * 1024 * 1024
"""Below this much catalog text to parse, a process pool costs more (starting interpreters that
import YAML and pydantic) than it saves."""
MAX_WORKERS = 8


def load_catalog(
    catalog_paths: Sequence[Path],
    lineage_paths: Sequence[Path] = (),
    cache_dir: Path | None = None,
    *,
    workers: int | None = None,
) -> Catalog:
    """Read every catalog and lineage file into one linked Catalog.

    Raises CatalogError only when a given path does not exist. With a `cache_dir`, a catalog
    cached there from the same files is returned instead of reading them, and a fresh load is
    cached there (see `graph.cache` for when a cache counts as the same); each file's parse is
    cached there too (`graph.parts`), so after one file changed only that file is parsed again,
    and when the edit changed only what entities say about themselves (descriptions, titles,
    tags...), the cached catalog is patched in place instead (`graph.patch`).

    `workers`: processes parsing catalog files at once; None picks the CPU count when there is
    enough text to be worth it, 1 parses in this process. The result is the same either way.
    """
    for path in [*catalog_paths, *lineage_paths]:
        if not Path(path).exists():
            raise CatalogError("no such file or directory", file=str(path))
    if cache_dir is not None:
        cached = read_cached(cache_dir, catalog_paths, lineage_paths)
        if cached is not None:
            return cached
        from graph.patch import patch_cached

        patched = patch_cached(cache_dir, catalog_paths, lineage_paths)
        if patched is not None:
            return patched
    sources = Sources()
    parts = PartCache(Path(cache_dir) / "parts", code_key()) if cache_dir is not None else None
    catalog = _read_files(list(catalog_paths), list(lineage_paths), sources, parts, workers)
    if cache_dir is not None:
        write_cached(cache_dir, catalog_paths, lineage_paths, sources, catalog)
    return catalog


def _read_files(
    catalog_paths: list[Path],
    lineage_paths: list[Path],
    sources: Sources,
    parts: PartCache | None = None,
    workers: int | None = None,
) -> Catalog:
    # the readers bring YAML and pydantic: imported only when files are actually read
    from graph.builder import CatalogBuilder
    from graph.lineage import read_lineage_text

    builder = CatalogBuilder()
    # a million entities, and nothing in them forms a cycle: the collector's full passes over
    # an ever larger heap cost seconds and find nothing (it runs again afterwards)
    with paused_gc():
        with _Parser(workers) as parser:
            _read_catalog(catalog_paths, builder, sources, parts, parser)
        for path in _expand(lineage_paths, LINEAGE_SUFFIXES, sources):
            text = _read_text(path, builder, sources)
            if text is not None:
                read_lineage_text(text, str(path), builder)
        return builder.finish()


def _read_catalog(
    paths: list[Path],
    builder: CatalogBuilder,
    sources: Sources,
    parts: PartCache | None = None,
    parser: _Parser | None = None,
) -> None:
    """Every catalog file, breadth first from `paths` (Location targets join the end of the
    queue), in waves: the files queued when a wave starts are parsed (in parallel when worth
    it, or taken from the part cache) a few ahead of the one being replayed into the builder,
    in queue order, which queues the next wave. The order of files, and so of problems and of
    which of two duplicate definitions wins, is the serial order."""
    parser = parser or _Parser(1)
    queue: deque[tuple[Path, bool]] = deque()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            queue.extend((found, False) for found in sources.walk(path, CATALOG_SUFFIXES))
        else:
            queue.append((path, True))
    seen: set[Path] = set()
    used: set[str] = set()
    while queue:
        wave: list[tuple[Path, bool]] = []
        while queue:
            path, strict = queue.popleft()
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                wave.append((path, strict))
        for path, file, part in _parse_wave(wave, builder, sources, parts, parser, used):
            _replay(path, file, part, builder, sources, queue)
    if parts is not None and used:
        parts.keep_only(used)


def _parse_wave(
    wave: list[tuple[Path, bool]],
    builder: CatalogBuilder,
    sources: Sources,
    parts: PartCache | None,
    parser: _Parser,
    used: set[str],
) -> Iterator[tuple[Path, str, Part]]:
    """Each file of the wave with its part (an unreadable file's part is its one problem), in
    wave order, as soon as it is ready: files are read and handed to the parser a few ahead of
    the one the caller replays, so the workers parse while this process replays, and only those
    few files' texts are held at a time (a 1M-entity catalog is over a gigabyte of YAML)."""
    parser.prepare(_total_size(wave))
    ahead: deque[tuple[Path, str, Part | None, str | None, Callable[[], bytes] | None]] = deque()
    for path, strict in wave:
        ahead.append(_start(path, strict, builder, sources, parts, parser, used))
        while len(ahead) > parser.lookahead:
            yield _finish(ahead.popleft(), parts)
    while ahead:
        yield _finish(ahead.popleft(), parts)


def _start(
    path: Path,
    strict: bool,
    builder: CatalogBuilder,
    sources: Sources,
    parts: PartCache | None,
    parser: _Parser,
    used: set[str],
) -> tuple[Path, str, Part | None, str | None, Callable[[], bytes] | None]:
    """Read one file and find its part in the cache, or hand it to the parser."""
    text, problem = _read_text_or_problem(path, sources)
    file = builder.share(str(path))
    if text is None:
        return path, file, [problem] if problem is not None else [], None, None
    key = None
    if parts is not None:
        stamp = sources.files.get(str(path))
        key = parts.key(stamp[2] if stamp else b"", file, strict)
        used.add(key)
        cached = parts.get(key)
        part = load_part(cached) if cached is not None else None
        if part is not None:
            return path, file, part, key, None
    return path, file, None, key, parser.submit((text, file, strict))


def _finish(
    started: tuple[Path, str, Part | None, str | None, Callable[[], bytes] | None],
    parts: PartCache | None,
) -> tuple[Path, str, Part]:
    path, file, part, key, parsing = started
    if parsing is not None:
        data = parsing()
        if parts is not None and key is not None:
            parts.put(key, data)
        part = load_part(data) or []
    assert part is not None
    return path, file, part


def _total_size(wave: list[tuple[Path, bool]]) -> int:
    total = 0
    for path, _strict in wave:
        with contextlib.suppress(OSError):  # reported when it is read
            total += path.stat().st_size
    return total


def _replay(
    path: Path,
    file: str,
    part: Part,
    builder: CatalogBuilder,
    sources: Sources,
    queue: deque[tuple[Path, bool]],
) -> None:
    """Hand one file's records to the builder as the readers would have, in their order."""
    problems = builder.problems
    share = builder.share
    for record in part:
        if isinstance(record, EntityRecord):
            entity = record.entity
            reshare(entity, share)
            if not builder.add_entity(entity):
                continue
            builder.expect_all(
                [
                    (entity.ref, share(field), share(target), file, line, flow)
                    for _referrer, field, target, _file, line, flow in record.pending
                ]
            )
            if record.rotation is not None:
                builder.add_rotation(record.rotation)
            for target in record.targets:
                queue.extend((found, True) for found in _follow(path, target, builder, sources))
        else:
            problems.append(record)


class _Parser:
    """Parses catalog texts into pickled parts, in this process or in a pool of processes."""

    def __init__(self, workers: int | None) -> None:
        self._workers = workers
        self._pool: Any = None
        self.lookahead = 0

    def __enter__(self) -> _Parser:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def prepare(self, size: int) -> None:
        """Start the pool when `size` bytes of catalog are worth parsing in parallel."""
        workers = self._workers
        if workers is None:
            enough = size >= PARALLEL_MIN_BYTES
            workers = min(os.cpu_count() or 1, MAX_WORKERS) if enough else 1
        if workers <= 1 or self._pool is not None:
            self.lookahead = 4 * workers if self._pool is not None else 0
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: the loader may run in a thread of the app, and forking a threaded process
        # is unsafe; the workers import only what parsing needs
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        self.lookahead = 4 * workers

    def submit(self, job: tuple[str, str, bool]) -> Callable[[], bytes]:
        """Start parsing one file; the returned call gives its pickled part."""
        from graph.parts import parse_to_bytes  # looked up now: tests count what is parsed

        if self._pool is None:
            return partial(parse_to_bytes, job)
        from concurrent.futures.process import BrokenProcessPool

        try:
            future = self._pool.submit(parse_to_bytes, job)
        except BrokenProcessPool:  # a worker died since the last file was handed out
            self._stop()
            return partial(parse_to_bytes, job)

        def result() -> bytes:
            from concurrent.futures import CancelledError
            from concurrent.futures.process import BrokenProcessPool

            try:
                return future.result()  # type: ignore[no-any-return]
            except (BrokenProcessPool, CancelledError):
                # a worker could not start: typically a script that loads a catalog at import
                # time, which spawned workers import again. Parse here instead; the result is
                # the same.
                self._stop()
                return parse_to_bytes(job)

        return result

    def _stop(self) -> None:
        """Give up on a broken pool and parse in this process from now on."""
        pool, self._pool = self._pool, None
        if pool is not None:
            # Python 3.11's pool can be left joining a worker of a broken pool that never
            # exits (one started as another died), and the interpreter then hangs at exit
            # joining that: every worker is killed here (taken before `shutdown` forgets them).
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    process.kill()
        self._workers = 1
        self.lookahead = 0


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
    text, problem = _read_text_or_problem(path, sources)
    if problem is not None:
        builder.problems.append(problem)
    return text


def _read_text_or_problem(path: Path, sources: Sources) -> tuple[str | None, Problem | None]:
    try:
        data = sources.read(path)
    except OSError as exc:
        return None, Problem("error", str(path), None, None, f"cannot read: {exc.strerror or exc}")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, Problem(
            "error",
            str(path),
            line,
            None,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
        )
