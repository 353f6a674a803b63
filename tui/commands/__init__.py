"""Typer sub-commands, one module per command group, registered on the root app here."""

from __future__ import annotations

import importlib

import typer

# Each module under tui/commands/ with a `register(app)` function; order is the order in --help.
_COMMAND_MODULES: list[str] = ["graph", "incident", "runbook", "postmortem", "demo"]


def register_commands(app: typer.Typer) -> None:
    """Attach every command module's Typer app; each module exposes `register(app)`."""
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"tui.commands.{name}")
        module.register(app)
