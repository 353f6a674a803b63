"""Finding the workspace: `--workspace DIR`, `$ONCALL_WORKSPACE`, the nearest `oncall.toml` above
the current directory (DESIGN.md, "The workspace"). With none, the caller decides what to open
(the app and the CLI make the bundled demo: `tui/first_run.py`), since only `tui` imports `demo`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from workspace.config import CONFIG_NAME, WorkspaceConfig, read_config
from workspace.errors import WorkspaceError
from workspace.model import Workspace

ENV_WORKSPACE = "ONCALL_WORKSPACE"


def open_workspace(root: Path) -> Workspace:
    """Open the workspace whose `oncall.toml` is in `root`."""
    root = root.resolve()
    config_path = root / CONFIG_NAME
    if not root.is_dir():
        raise WorkspaceError(f"{root}: workspace directory does not exist")
    if not config_path.is_file():
        raise WorkspaceError(f"{root}: not a workspace (no {CONFIG_NAME})")
    config = read_config(config_path)
    return Workspace(
        root=root,
        config=config,
        catalog_paths=_configured_paths(root, config, "catalog"),
        lineage_paths=_configured_paths(root, config, "lineage"),
    )


def _configured_paths(root: Path, config: WorkspaceConfig, key: str) -> list[Path]:
    """Paths named by `key`; a default folder that does not exist is simply absent.

    A folder the team named in `oncall.toml` must exist (the loader reports it), but a workspace
    with no `lineage/` should not fail because of a default it never asked for.
    """
    paths = [root / p for p in getattr(config, key)]
    if key in config.given:
        return paths
    return [p for p in paths if p.exists()]


def find_workspace_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding an `oncall.toml`."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / CONFIG_NAME).is_file():
            return directory
    return None


def default_demo_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("oncall")) / "demo"


def locate_workspace(
    explicit: Path | None = None,
    cwd: Path | None = None,
    *,
    fallback: Callable[[], Path] | None = None,
) -> Workspace:
    """Apply the discovery order and open what it finds; with nothing found, open the directory
    `fallback` makes (or say there is no workspace)."""
    if explicit is not None:
        return open_workspace(explicit)
    env = os.environ.get(ENV_WORKSPACE)
    if env:
        return open_workspace(Path(env))
    found = find_workspace_root(cwd or Path.cwd())
    if found is not None:
        return open_workspace(found)
    if fallback is None:
        raise WorkspaceError(
            f"no workspace: pass --workspace DIR, set ${ENV_WORKSPACE}, or run inside a "
            f"directory with an {CONFIG_NAME}"
        )
    return open_workspace(fallback())
