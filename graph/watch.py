"""Noticing that the catalog's files changed, cheaply enough to ask every couple of seconds.

The app keeps its catalog loaded; when an operator (or `git pull`) edits a file, the app should
load it again (issue 16). This looks only at file-system stamps — the catalog and lineage files
below the given paths, their sizes and modification times — so a check at a million assets is a
few hundred `stat` calls. What exactly changed inside is the loader's business: its per-file
cache parses only the files whose content differs.

Location targets outside the given directories are not watched (they are rare, and the cache
still notices them at the next load).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from graph.loader import CATALOG_SUFFIXES, LINEAGE_SUFFIXES
from graph.sources import list_files

Stamps = dict[str, tuple[int, int]]


def stamps(catalog_paths: Sequence[Path], lineage_paths: Sequence[Path] = ()) -> Stamps:
    """(size, mtime in ns) of every catalog and lineage file below the paths."""
    found: Stamps = {}
    for paths, suffixes in ((catalog_paths, CATALOG_SUFFIXES), (lineage_paths, LINEAGE_SUFFIXES)):
        for path in paths:
            path = Path(path)
            files = list_files(path, suffixes) if path.is_dir() else [path]
            for file in files:
                try:
                    info = os.stat(file)
                except OSError:
                    continue
                found[str(file)] = (info.st_size, info.st_mtime_ns)
    return found


def changed(before: Stamps, after: Stamps) -> list[str]:
    """The files added, removed or touched between two `stamps`, sorted."""
    return sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )


class CatalogWatch:
    """The stamps of the catalog last loaded; `poll` says which files changed since."""

    def __init__(self, catalog_paths: Sequence[Path], lineage_paths: Sequence[Path] = ()) -> None:
        self.catalog_paths = list(catalog_paths)
        self.lineage_paths = list(lineage_paths)
        self.known = stamps(self.catalog_paths, self.lineage_paths)

    def poll(self) -> list[str]:
        """The files changed since the last poll (or since the watch began), then forgets them."""
        now = stamps(self.catalog_paths, self.lineage_paths)
        different = changed(self.known, now)
        self.known = now
        return different
