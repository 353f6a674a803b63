"""`oncall serve` follows the catalog: when a catalog or lineage file changes, new alerts are
placed with the new catalog, without a restart.

A thread looks at the files' stamps every `interval` seconds (`graph.watch.CatalogWatch`: a
`stat` per file, no parsing); when one changed it loads the catalog again (the loader's per-file
cache parses only the changed files), builds a new `AssetMapper` with the workspace's `[alerts]`
rules, and hands it to the intake in one assignment: a request is placed wholly with the old
mapper or wholly with the new one. A catalog that no longer loads, or an `[alerts]` rule it no
longer satisfies, is reported on stderr and the intake keeps the catalog it had: alerts are
never placed with half a catalog, and never stop being received.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping

from graph.errors import GraphError
from graph.watch import CatalogWatch
from intake.alerts import AlertIntake, AssetMapper
from intake.errors import IntakeConfigError
from workspace.model import Workspace

DEFAULT_INTERVAL = 2.0
"""Seconds between two looks at the catalog's files."""


def _say(message: str) -> None:
    print(f"oncall serve: {message}", file=sys.stderr, flush=True)


class CatalogReloader:
    """Reloads the workspace's catalog into `intake` when its files change."""

    def __init__(
        self,
        workspace: Workspace,
        intake: AlertIntake,
        rules: Mapping[str, Mapping[str, str]],
        watch: CatalogWatch,
        *,
        interval: float = DEFAULT_INTERVAL,
        say: Callable[[str], None] = _say,
    ) -> None:
        self.workspace = workspace
        self.intake = intake
        self.rules = rules
        self.watch = watch
        self.interval = interval
        self.say = say
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="catalog-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def check(self) -> list[str]:
        """Reload if any file changed since the last look; the files that changed."""
        files = self.watch.poll()
        if not files:
            return files
        count = f"{len(files)} file{'s' if len(files) != 1 else ''} changed"
        from graph.loader import load_catalog

        try:
            catalog = load_catalog(
                self.workspace.catalog_paths,
                self.workspace.lineage_paths,
                cache_dir=self.workspace.cache_dir,
            )
            mapper = AssetMapper(catalog, self.rules)
        except (GraphError, IntakeConfigError, OSError) as exc:
            self.say(f"catalog not reloaded ({count}): {exc}; alerts are placed as before")
            return files
        self.intake.mapper = mapper
        self.say(f"catalog reloaded: {count}")
        for problem in mapper.problems:
            self.say(f"warning: {problem}")
        return files
