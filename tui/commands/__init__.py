"""Typer sub-commands, one module per command group, imported only when they are used.

Why lazily: `oncall owner X` must answer in a fraction of a second, and importing every command
module first would import SQLAlchemy, Alembic, Jinja2 and the runbook engine for nothing.
`COMMANDS` says which module registers each top-level command; the root group
(`LazyCommandGroup`, the `cls` of the root Typer app) imports a module the first time one of its
commands is looked up, and every module when the commands are listed (`oncall --help`) or a name
is unknown (so the "did you mean" hint still sees them all). Each module exposes
`register(app: typer.Typer) -> None`, as before.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

# Modules in the order their commands appear in `oncall --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "graph",
    "lineage",
    "incident",
    "runbook",
    "postmortem",
    "serve",
    "demo",
)

# Top-level command name → the module under tui/commands/ whose `register` adds it.
COMMANDS: dict[str, str] = {
    "owner": "graph",
    "impact": "graph",
    "graph": "graph",
    "contamination": "lineage",
    "plan": "lineage",
    "recover": "lineage",
    "incident": "incident",
    "runbook": "runbook",
    "postmortem": "postmortem",
    "serve": "serve",
    "demo": "demo",
}


def register_commands(app: typer.Typer) -> None:
    """Attach every command module's commands to `app` now (the eager way, for other apps)."""
    for name in COMMAND_MODULES:
        importlib.import_module(f"tui.commands.{name}").register(app)


class LazyCommandGroup(TyperGroup):
    """The root command group: a command module is imported when one of its commands is needed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: set[str] = set()

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        module = COMMANDS.get(cmd_name)
        if module is None:
            self._load_all()
        else:
            self._load(module)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        self._load_all()
        order = {module: i for i, module in enumerate(COMMAND_MODULES)}
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: order.get(COMMANDS.get(n, ""), len(order)))

    def _load_all(self) -> None:
        for module in COMMAND_MODULES:
            self._load(module)

    def _load(self, module_name: str) -> None:
        if module_name in self._loaded:
            return
        self._loaded.add(module_name)
        scratch = typer.Typer()
        importlib.import_module(f"tui.commands.{module_name}").register(scratch)
        for name, command in typer.main.get_group(scratch).commands.items():
            self.add_command(command, name)
