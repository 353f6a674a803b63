"""A located, validated workspace: its paths made absolute, its connections, its operator."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from workspace.config import WorkspaceConfig

ENV_USER = "ONCALL_USER"


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

    @property
    def credentials(self) -> dict[str, dict[str, str]]:
        """Where each `[connections.NAME]` table's credential comes from (an environment
        variable or a file); read only when a step runs, never stored here."""
        return {k: dict(v) for k, v in self.config.connection_credentials.items()}

    def operator(self, explicit: str | None = None) -> str:
        """Who is acting: `--as`, then `$ONCALL_USER`, then the OS-user mapping, then the OS user."""
        if explicit:
            return explicit
        env = os.environ.get(ENV_USER)
        if env:
            return env
        os_user = _os_user()
        return self.config.operators.get(os_user, os_user)


def os_user() -> str:
    """The OS user running oncall (uid-N when the system has no name for it)."""
    return _os_user()


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
