"""The bundled demo workspace: the weekend incident of DESIGN.md, runnable.

`demo/workspace/` is a complete workspace (oncall.toml, catalog, vetted runbooks, the nightly ETL
script); `init_workspace(target)` copies it and creates its SQLite databases,
`break_workspace(root, store)` reproduces seed 000 and `reset_workspace(root)` starts over.
"""

from __future__ import annotations

from demo.errors import DemoError
from demo.install import init_workspace, is_demo_workspace
from demo.scenario import Breakage, break_workspace, reset_workspace

__all__ = [
    "Breakage",
    "DemoError",
    "break_workspace",
    "init_workspace",
    "is_demo_workspace",
    "reset_workspace",
]
