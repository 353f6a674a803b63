"""What the engine needs to know about the workspace, as plain values.

`runbooks` never reads `oncall.toml` itself (that is the edge's job, `workspace`); the CLI or
the TUI builds a `RunbookEnv` from the workspace it opened and hands it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RunbookEnv:
    root: Path
    runbooks_dir: Path
    lock_file: Path
    connections: Mapping[str, str] = field(default_factory=dict)
    #: Per connection, where its credential comes from ({"token_env": "X"}); the credential
    #: itself is read by the action when the step runs, never held here.
    credentials: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    notify_webhook: str | None = None
