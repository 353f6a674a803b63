"""What every command needs, resolved lazily once: the workspace, the catalog, the operator.

Commands receive an `AppContext` through Typer's `ctx.obj`; nothing is loaded until a command
asks for it, so `oncall --help` and `oncall graph check --catalog DIR` never touch a workspace
they do not need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tui.workspace import Workspace, locate_workspace

if TYPE_CHECKING:
    from graph.model import Catalog


@dataclass
class AppContext:
    """Global options plus lazily opened resources, shared by every command of one invocation."""

    workspace_arg: Path | None = None
    catalog_args: list[Path] = field(default_factory=list)
    lineage_args: list[Path] = field(default_factory=list)
    as_user: str | None = None
    _workspace: Workspace | None = None
    _catalog: Catalog | None = None

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = locate_workspace(self.workspace_arg)
        return self._workspace

    @property
    def catalog(self) -> Catalog:
        """The catalog from `--catalog/--lineage` when given, else the workspace's."""
        if self._catalog is None:
            from graph.loader import load_catalog

            if self.catalog_args or self.lineage_args:
                self._catalog = load_catalog(self.catalog_args, self.lineage_args, cache_dir=None)
            else:
                ws = self.workspace
                self._catalog = load_catalog(
                    ws.catalog_paths, ws.lineage_paths, cache_dir=ws.cache_dir
                )
        return self._catalog

    @property
    def operator(self) -> str:
        return self.workspace.operator(self.as_user)
