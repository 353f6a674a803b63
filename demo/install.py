"""Putting the demo workspace somewhere: its files, copied, and its databases, created.

`init_workspace(target)` is what `oncall demo init` and the first start without a workspace use:
afterwards `target` is a complete, runnable workspace (catalog, vetted runbooks, the ETL script
and four seeded SQLite databases in `data/`). It never overwrites a workspace that is not the
demo, and calling it again on the demo only creates what is missing.
"""

from __future__ import annotations

import shutil
import tomllib
from datetime import datetime
from importlib import resources
from pathlib import Path

from demo.databases import create_databases, databases_exist
from demo.errors import DemoError

CONFIG_NAME = "oncall.toml"
DEMO_NAME = "demo"
ETL_RELATIVE = Path("bin") / "nightly_etl.py"


def bundled_workspace() -> Path:
    """The demo workspace shipped inside this package."""
    return Path(str(resources.files("demo") / "workspace"))


def data_dir(root: Path) -> Path:
    return root / "data"


def is_demo_workspace(root: Path) -> bool:
    """A workspace made from the demo: named `demo` and carrying the demo's ETL script."""
    config = root / CONFIG_NAME
    if not config.is_file() or not (root / ETL_RELATIVE).is_file():
        return False
    try:
        name = tomllib.loads(config.read_text(encoding="utf-8")).get("name")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return False
    return name == DEMO_NAME


def init_workspace(target: Path, now: datetime | None = None) -> Path:
    """Make `target` a runnable demo workspace; returns it. Idempotent on a demo workspace."""
    target = target.expanduser().resolve()
    if (target / CONFIG_NAME).is_file():
        if not is_demo_workspace(target):
            raise DemoError(
                f"{target} is a workspace but not the demo; `oncall demo init` only writes to "
                "an empty directory or to a demo workspace"
            )
    elif target.exists():
        if not target.is_dir():
            raise DemoError(f"{target} exists and is not a directory")
        if any(target.iterdir()):
            raise DemoError(f"{target} is not empty; give an empty or new directory")
        _copy(target)
    else:
        _copy(target)
    if not databases_exist(data_dir(target)):
        create_databases(data_dir(target), now)
    return target


def require_demo(root: Path) -> Path:
    """`root` as an initialised demo workspace, or a DemoError saying what to do."""
    if not is_demo_workspace(root):
        raise DemoError(
            f"{root} is not the demo workspace; run `oncall demo init DIR` and use "
            "`--workspace DIR`"
        )
    if not databases_exist(data_dir(root)):
        raise DemoError(f"{root} has no demo databases yet; run `oncall demo init {root}`")
    return root


def _copy(target: Path) -> None:
    source = bundled_workspace()
    if not (source / CONFIG_NAME).is_file():
        raise DemoError(f"the bundled demo workspace is missing from {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        source,
        target,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", ".oncall", "data"),
    )
