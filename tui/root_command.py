"""The root `oncall` Typer command: the global options and the sub-commands, loaded lazily.

`tui.cli.main` comes here for everything but a plain start of the app (see `tui/launch.py`);
with no sub-command the callback opens the app, as the fast path does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tui.commands import LazyCommandGroup
from tui.context import AppContext
from tui.launch import AS_USER_FLAGS, CATALOG_FLAGS, LINEAGE_FLAGS, WORKSPACE_FLAGS

app = typer.Typer(
    name="oncall",
    help="A terminal assistant for on-call operators of ML platforms.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=True,  # Typer's --install-completion / --show-completion
    cls=LazyCommandGroup,  # imports a command's module only when that command runs
)


def _print_version(value: bool) -> None:
    """`--version`: print the version and stop before any workspace is looked at."""
    if value:
        from tui.version import __version__

        typer.echo(f"oncall {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(*WORKSPACE_FLAGS, help="Workspace directory (holds oncall.toml)."),
    ] = None,
    catalog: Annotated[
        list[Path] | None,
        typer.Option(
            *CATALOG_FLAGS, help="Catalog file or directory to load instead (repeatable)."
        ),
    ] = None,
    lineage: Annotated[
        list[Path] | None,
        typer.Option(
            *LINEAGE_FLAGS, help="OpenLineage file or directory to load instead (repeatable)."
        ),
    ] = None,
    as_user: Annotated[
        str | None, typer.Option(*AS_USER_FLAGS, help="Act as this operator (a catalog user ref).")
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Open the app on the workspace (the demo when there is none), or run a sub-command."""
    ctx.obj = AppContext(
        workspace_arg=workspace,
        catalog_args=list(catalog or []),
        lineage_args=list(lineage or []),
        as_user=as_user,
    )
    if ctx.invoked_subcommand is None:
        from tui.app import run_app

        run_app(ctx.obj)
