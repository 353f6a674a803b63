"""Finding and reading the workspace: the directory a team keeps in git, described by `oncall.toml`.

Discovery order (DESIGN.md, "The workspace"): `--workspace DIR`, `$ONCALL_WORKSPACE`, the nearest
`oncall.toml` above the current directory, else the bundled demo copied once to the user data
directory so that `oncall` alone always shows something real.

This lives at the edge (tui) because the other packages take plain values (paths, URLs, dicts)
and never read settings themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_NAME = "oncall.toml"
ENV_WORKSPACE = "ONCALL_WORKSPACE"
ENV_USER = "ONCALL_USER"


class WorkspaceError(Exception):
    """The workspace cannot be found or its `oncall.toml` is wrong. Maps to exit code 2."""


@dataclass(frozen=True)
class WorkspaceConfig:
    """The schema of `oncall.toml`. Unknown keys are errors so a typo never silently does nothing.

    Checked by hand (`parse_config`), not by a validation library: this is read before the
    app's first paint, and importing one costs more than the whole check.
    """

    name: str = "workspace"
    database_url: str | None = None
    catalog: list[str] = field(default_factory=lambda: ["catalog"])
    lineage: list[str] = field(default_factory=lambda: ["lineage"])
    runbooks: str = "runbooks"
    connections: dict[str, str] = field(default_factory=dict)
    operators: dict[str, str] = field(default_factory=dict)  # OS user name -> catalog user ref
    notify_webhook: str | None = None
    given: frozenset[str] = frozenset()  # the keys oncall.toml sets (the others are defaults)


#: What each key holds: "text" a string, "texts" a list of strings, "table" string -> string.
CONFIG_KEYS: dict[str, str] = {
    "name": "text",
    "database_url": "text",
    "catalog": "texts",
    "lineage": "texts",
    "runbooks": "text",
    "connections": "table",
    "operators": "table",
    "notify_webhook": "text",
}


def parse_config(raw: dict[str, Any]) -> WorkspaceConfig:
    """A `WorkspaceConfig` from parsed TOML, or `ValueError` listing every problem: the keys
    with a value of the wrong type (in the schema's order), then each unknown key."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, shape in CONFIG_KEYS.items():
        if key in raw:
            found = _check_value(key, shape, raw[key])
            if found:
                problems.extend(found)
            else:
                values[key] = raw[key]
    problems.extend(f"unknown key {key!r}" for key in raw if key not in CONFIG_KEYS)
    if problems:
        raise ValueError("; ".join(problems))
    return WorkspaceConfig(**values, given=frozenset(values))


def _check_value(key: str, shape: str, value: Any) -> list[str]:
    if shape == "text":
        return [] if isinstance(value, str) else [_wrong(key, "a string", value)]
    if shape == "texts":
        if not isinstance(value, list):
            return [_wrong(key, "a list of strings", value)]
        return [
            _wrong(f"{key}[{i}]", "a string", item)
            for i, item in enumerate(value)
            if not isinstance(item, str)
        ]
    if not isinstance(value, dict):
        return [_wrong(key, "a table of strings", value)]
    return [
        _wrong(f"{key}.{name}", "a string", item)
        for name, item in value.items()
        if not isinstance(item, str)
    ]


def _wrong(where: str, expected: str, value: Any) -> str:
    return f"{where}: must be {expected}, not {_toml_type(value)}"


def _toml_type(value: Any) -> str:
    """The TOML name of a parsed value's type, as the person who wrote it knows it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, str):
        return "a string"
    return "a date or time"


@dataclass
class Workspace:
    """A located, validated workspace with every path made absolute."""

    root: Path
    config: WorkspaceConfig
    catalog_paths: list[Path] = field(default_factory=list)
    lineage_paths: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def state_dir(self) -> Path:
        return self.root / ".oncall"

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"

    @property
    def runbooks_dir(self) -> Path:
        return self.root / self.config.runbooks

    @property
    def lock_file(self) -> Path:
        return self.root / "runbooks.lock"

    @property
    def postmortems_dir(self) -> Path:
        return self.root / "postmortems"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def database_url(self) -> str:
        """The store's URL; a relative SQLite path is taken relative to the workspace root."""
        url = self.config.database_url
        if not url:
            return f"sqlite:///{self.state_dir / 'state.db'}"
        return _absolute_sqlite_url(url, self.root)

    @property
    def connections(self) -> dict[str, str]:
        """Named connections for `sql` actions, SQLite paths made absolute."""
        return {k: _absolute_sqlite_url(v, self.root) for k, v in self.config.connections.items()}

    def operator(self, explicit: str | None = None) -> str:
        """Who is acting: `--as`, then `$ONCALL_USER`, then the OS-user mapping, then the OS user."""
        if explicit:
            return explicit
        env = os.environ.get(ENV_USER)
        if env:
            return env
        os_user = _os_user()
        return self.config.operators.get(os_user, os_user)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): fall back to the uid
        return f"uid-{os.getuid()}"


def _absolute_sqlite_url(url: str, root: Path) -> str:
    prefix = None
    for candidate in ("sqlite+pysqlite:///", "sqlite:///"):
        if url.startswith(candidate):
            prefix = candidate
            break
    if prefix is None:
        return url
    rest = url[len(prefix) :]
    if not rest or rest.startswith("/") or rest.startswith(":memory:"):
        return url
    return prefix + str((root / rest).resolve())


def read_config(path: Path) -> WorkspaceConfig:
    """Parse and validate one `oncall.toml`; every problem names the file and the key."""
    import tomllib

    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WorkspaceError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise WorkspaceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{path}: invalid TOML: {exc}") from exc
    try:
        return parse_config(raw)
    except ValueError as exc:
        raise WorkspaceError(f"{path}: {exc}") from None


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


def locate_workspace(explicit: Path | None = None, cwd: Path | None = None) -> Workspace:
    """Apply the discovery order and open what it finds."""
    if explicit is not None:
        return open_workspace(explicit)
    env = os.environ.get(ENV_WORKSPACE)
    if env:
        return open_workspace(Path(env))
    found = find_workspace_root(cwd or Path.cwd())
    if found is not None:
        return open_workspace(found)
    return open_workspace(copy_demo_workspace(default_demo_root()))
