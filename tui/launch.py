"""`oncall [global options]` read without Typer: the path to the app's first paint.

Typer costs ~25 ms to import and, since 0.29, imports pydantic to coerce option values (~50 ms
more): a third of the app's start-up, for four options. When the command line is only those
options, `tui.cli.main` builds the `AppContext` from here and opens the app; anything else
(a sub-command, `--help`, a malformed or unusual option) returns None and goes to Typer, which
stays the one judge of errors and help. The spellings below are the ones the Typer root command
declares (`tui/root_command.py` uses these constants), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tui.context import AppContext

WORKSPACE_FLAGS = ("--workspace", "-w")
CATALOG_FLAGS = ("--catalog",)
LINEAGE_FLAGS = ("--lineage",)
AS_USER_FLAGS = ("--as",)

_FIELD_OF_FLAG = {
    **dict.fromkeys(WORKSPACE_FLAGS, "workspace"),
    **dict.fromkeys(CATALOG_FLAGS, "catalog"),
    **dict.fromkeys(LINEAGE_FLAGS, "lineage"),
    **dict.fromkeys(AS_USER_FLAGS, "as_user"),
}


def app_context(args: Sequence[str]) -> AppContext | None:
    """The context Typer's root callback would build for `args`, when `args` holds only the
    global options, each with a plain value; None for anything Typer should read instead."""
    workspace: Path | None = None
    catalog: list[Path] = []
    lineage: list[Path] = []
    as_user: str | None = None
    rest = list(args)
    while rest:
        token = rest.pop(0)
        flag, equals, value = token.partition("=") if token.startswith("--") else (token, "", "")
        if not equals and flag not in _FIELD_OF_FLAG and flag[:2] in _FIELD_OF_FLAG:
            flag, value, equals = flag[:2], flag[2:], "attached"  # -wDIR, as Click reads it
        field = _FIELD_OF_FLAG.get(flag)
        if field is None:
            return None
        if not equals:
            if not rest:
                return None
            value = rest.pop(0)
        if not value or value.startswith("-"):
            return None
        if field == "workspace":
            workspace = Path(value)
        elif field == "catalog":
            catalog.append(Path(value))
        elif field == "lineage":
            lineage.append(Path(value))
        else:
            as_user = value
    return AppContext(
        workspace_arg=workspace, catalog_args=catalog, lineage_args=lineage, as_user=as_user
    )
