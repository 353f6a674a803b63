"""The first run with no workspace around: the bundled demo, made once in the user data
directory so that `oncall` alone always shows something real. Here, not in `workspace/`, because
only `tui` imports `demo`."""

from __future__ import annotations

from pathlib import Path

from workspace.config import CONFIG_NAME
from workspace.discovery import open_workspace
from workspace.errors import WorkspaceError


def copy_demo_workspace(target: Path) -> Path:
    """Make the demo workspace at `target` on first use: copied, databases created, and the
    weekend incident replayed, so `oncall` alone opens on something real. Later calls reuse it."""
    if (target / CONFIG_NAME).is_file():
        return target
    from demo import DemoError, break_workspace, init_workspace
    from incidents.errors import StoreError
    from incidents.store import Store

    try:
        root = init_workspace(target)
        store = Store.open(open_workspace(root).database_url)
        try:
            break_workspace(root, store)
        finally:
            store.close()
    except (DemoError, StoreError) as exc:
        raise WorkspaceError(f"cannot set up the demo workspace at {target}: {exc}") from exc
    return root


def demo_fallback() -> Path:
    """The demo workspace in the user data directory, made on first use."""
    from workspace.discovery import default_demo_root

    return copy_demo_workspace(default_demo_root())
