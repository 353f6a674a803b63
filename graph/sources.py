"""The loader's one door to the file system, remembering everything it saw on the way.

Why: a cached catalog is only as good as the files it was built from, and which files those are
depends on their contents (a Location names more files, a glob matches whatever is there today, a
new file may appear in a catalog directory). So every fact a load depends on is recorded as it is
observed — each file read (size, mtime in ns, a BLAKE2b digest of its bytes), each directory
listing and glob result, each Location target found missing — and `verify` checks them all again.
Stamps come first because they are free; a file whose size or mtime moved is read and hashed
again, so a `git checkout` or `touch` that left its content alone does not throw the cache away.
A file modified within the last couple of seconds gets no trusted stamp at all (git's "racily
clean" rule): a second edit in the same mtime tick, keeping the size, would go unnoticed.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

# (size, mtime_ns, digest) of a file that was read; None when it could not be read.
Stamp = tuple[int, int, bytes] | None
RACY_NS = 2_000_000_000  # an mtime this close to the read is not trusted (see above)
UNTRUSTED_MTIME = -1


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class Sources:
    """What one load read and listed. Each method does the real thing and records it."""

    def __init__(self) -> None:
        self.files: dict[str, Stamp] = {}
        self.listings: list[tuple[str, str, str, tuple[str, ...]]] = []
        self.absent: list[str] = []

    # -- observing ------------------------------------------------------------------------------

    def read(self, path: Path) -> bytes:
        """The file's bytes (OSError as `open` raises it), stamped with what was read."""
        key = str(path)
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                data = handle.read()
        except OSError:
            self.files[key] = None
            raise
        self.files[key] = (info.st_size, _trusted_mtime(info.st_mtime_ns), digest(data))
        return data

    def walk(self, directory: Path, suffixes: tuple[str, ...]) -> list[Path]:
        """Matching files below `directory`, sorted, skipping hidden files and directories."""
        found = _walk(directory, suffixes)
        self.listings.append(("walk", str(directory), "\n".join(suffixes), _names(found)))
        return found

    def glob(self, base: Path, pattern: str) -> list[Path]:
        """The files `pattern` matches below `base`, sorted."""
        found = _glob(base, pattern)
        self.listings.append(("glob", str(base), pattern, _names(found)))
        return found

    def is_file(self, path: Path) -> bool:
        if path.is_file():
            return True
        self.absent.append(str(path))
        return False

    # -- remembering ----------------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Stamp], list[Any], list[str]]:
        """Plain values for `marshal`."""
        return self.files, self.listings, self.absent


def verify(state: tuple[dict[str, Stamp], list[Any], list[str]]) -> tuple[bool, bool]:
    """(whether every recorded fact still holds, whether some stamp had to be refreshed).

    A refreshed stamp is updated in `state` in place, so the caller can store it again.
    """
    changed, refreshed = _check(state, allow_changes=False)
    return changed is not None, refreshed


def changed_files(
    state: tuple[dict[str, Stamp], list[Any], list[str]],
) -> dict[str, tuple[bytes, Stamp, bytes]] | None:
    """The files whose content changed since `state` was recorded, each as (its bytes now, its
    stamp now, the digest recorded), when nothing else did (the same listings, no absent file
    appeared, every file still readable); None otherwise. Unchanged files' stamps are refreshed
    in `state` as `verify` does; changed ones are left for the caller."""
    changed, _refreshed = _check(state, allow_changes=True)
    return changed


def _check(
    state: tuple[dict[str, Stamp], list[Any], list[str]], *, allow_changes: bool
) -> tuple[dict[str, tuple[bytes, Stamp, bytes]] | None, bool]:
    files, listings, absent = state
    for kind, where, what, names in listings:
        if kind == "walk":
            found = _walk(Path(where), tuple(what.split("\n")))
        else:
            found = _glob(Path(where), what)
        if _names(found) != tuple(names):
            return None, False
    if any(Path(path).is_file() for path in absent):
        return None, False
    refreshed = False
    changed: dict[str, tuple[bytes, Stamp, bytes]] = {}
    for path, stamp in files.items():
        if stamp is None:
            return None, False  # it could not be read: perhaps it can now
        size, mtime_ns, known = stamp
        try:
            info = os.stat(path)
        except OSError:
            return None, False
        if info.st_size == size and info.st_mtime_ns == mtime_ns:
            continue
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                data = handle.read()
        except OSError:
            return None, False
        now = digest(data)
        mtime_ns = _trusted_mtime(info.st_mtime_ns)
        if now != known:
            if not allow_changes:
                return None, False
            changed[path] = (data, (info.st_size, mtime_ns, now), known)
        elif mtime_ns != UNTRUSTED_MTIME:
            files[path] = (info.st_size, mtime_ns, known)
            refreshed = True
    return changed, refreshed


def _trusted_mtime(mtime_ns: int) -> int:
    return UNTRUSTED_MTIME if time.time_ns() - mtime_ns < RACY_NS else mtime_ns


def _names(paths: list[Path]) -> tuple[str, ...]:
    return tuple(str(p) for p in paths)


def list_files(directory: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files below `directory` with one of `suffixes`, sorted, hidden ones skipped (unrecorded:
    `Sources.walk` is the recording version)."""
    return _walk(directory, suffixes)


def _walk(directory: Path, suffixes: tuple[str, ...]) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(root) / name
            for name in sorted(files)
            if name.endswith(suffixes) and not name.startswith(".")
        )
    return found


def _glob(base: Path, pattern: str) -> list[Path]:
    return sorted(p for p in base.glob(pattern) if p.is_file())
