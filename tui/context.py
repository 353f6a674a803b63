"""What every command needs, resolved lazily once: the workspace, the catalog, the operator.

Commands receive an `AppContext` through Typer's `ctx.obj`; nothing is loaded until a command
asks for it, so `oncall --help` and `oncall graph check --catalog DIR` never touch a workspace
they do not need.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from workspace.discovery import locate_workspace
from workspace.errors import ImpersonationRefused
from workspace.model import Workspace

if TYPE_CHECKING:
    from graph.model import Catalog
    from graph.watch import CatalogWatch


@dataclass
class AppContext:
    """Global options plus lazily opened resources, shared by every command of one invocation."""

    workspace_arg: Path | None = None
    catalog_args: list[Path] = field(default_factory=list)
    lineage_args: list[Path] = field(default_factory=list)
    as_user: str | None = None
    _workspace: Workspace | None = None
    _catalog: Catalog | None = None
    _catalog_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _workspace_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def workspace(self) -> Workspace:
        """Located once even when the app's workers ask at the same time: on a first run
        locating *creates* the demo workspace, and two threads creating it at once made one of
        them fail (the title bar then never learnt the workspace and operator names)."""
        with self._workspace_lock:
            if self._workspace is None:
                from tui.first_run import demo_fallback

                self._workspace = locate_workspace(self.workspace_arg, fallback=demo_fallback)
            return self._workspace

    @property
    def operator_as_given(self) -> str:
        """Who acts, before the catalog is read (the title bar shows it at once)."""
        return self.workspace.operator(self.as_user)

    @property
    def catalog(self) -> Catalog:
        """The catalog from `--catalog/--lineage` when given, else the workspace's.

        Loaded once even when the app's workers ask for it at the same time."""
        with self._catalog_lock:
            if self._catalog is None:
                self._catalog = self._load_catalog()
            return self._catalog

    def catalog_watch(self) -> CatalogWatch:
        """A watch on the files the catalog is loaded from (see `reload_catalog`)."""
        from graph.watch import CatalogWatch

        if self.catalog_args or self.lineage_args:
            return CatalogWatch(self.catalog_args, self.lineage_args)
        ws = self.workspace
        return CatalogWatch(ws.catalog_paths, ws.lineage_paths)

    def reload_catalog(self) -> Catalog:
        """Load the catalog again (its files changed) and use it from now on. The old one is
        in use until the new one is ready; only the files that changed are parsed again
        (the workspace cache keeps each file's parse)."""
        catalog = self._load_catalog()
        with self._catalog_lock:
            self._catalog = catalog
        return catalog

    def _load_catalog(self) -> Catalog:
        from graph.loader import load_catalog

        if self.catalog_args or self.lineage_args:
            return load_catalog(self.catalog_args, self.lineage_args, cache_dir=None)
        ws = self.workspace
        return load_catalog(ws.catalog_paths, ws.lineage_paths, cache_dir=ws.cache_dir)

    @property
    def operator(self) -> str:
        """Who acts, as the catalog's canonical user ref when the catalog knows them, so the
        timeline names one person one way however they were given (`ana.lima`, `--as
        user:ana.lima`, an OS-user mapping); someone the catalog does not know stays as given.

        `--as` / `$ONCALL_USER` may only name the ref `[operators]` gives the OS user, unless
        oncall.toml sets `allow_impersonation = true` (SECURITY.md): otherwise anyone could
        act, approve and page in anyone's name."""
        from workspace.model import ENV_USER, os_user

        ws = self.workspace
        claimed = self.as_user or os.environ.get(ENV_USER)
        ref = self.user_ref(ws.operator(self.as_user))
        if claimed:
            me = os_user()
            mapped = ws.config.operators.get(me)
            someone_else = mapped is None or self.user_ref(mapped) != ref
            if someone_else and not ws.config.allow_impersonation:
                given = f"--as {claimed}" if self.as_user else f"${ENV_USER}={claimed}"
                mine = f"is mapped to {mapped}" if mapped else "has no entry"
                raise ImpersonationRefused(
                    f"{given}: the OS user {me} {mine} in [operators] of oncall.toml; acting "
                    "as someone else needs allow_impersonation = true there"
                )
        return ref

    @property
    def impersonating(self) -> bool:
        """Whether `--as` / $ONCALL_USER names someone other than the OS user's `[operators]`
        ref (compared by name, without loading the catalog): the events say "A acting as B"."""
        from workspace.model import ENV_USER, os_user

        claimed = self.as_user or os.environ.get(ENV_USER)
        if not claimed:
            return False
        mapped = self.workspace.config.operators.get(os_user())
        return mapped is None or _user_name(mapped) != _user_name(claimed)

    def user_ref(self, name: str) -> str:
        """`name` as the catalog's user ref when the catalog knows the user; else as given."""
        from graph.errors import GraphError

        try:
            entity = self.catalog.resolve(name)
        except GraphError:
            return name
        return entity.ref if entity.kind == "user" else name


def _user_name(ref: str) -> str:
    """`user:default/Alice` → `alice`: a user ref or name reduced to compare two of them."""
    return ref.strip().lower().removeprefix("user:").rpartition("/")[2]
