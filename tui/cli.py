"""The `oncall` command line (Typer). Parses options, builds what a command needs, maps errors.

With no sub-command it opens the Textual app. Exit codes: 0 ok, 1 a problem found (e.g. `graph
check` found errors), 2 bad usage or input. A user mistake never shows a traceback: every
package's error base class is caught in `main` and printed as one line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from graph.errors import GraphError
from incidents.errors import StoreError
from postmortems.errors import PostmortemError
from runbooks.errors import RunbookError
from tui.commands import LazyCommandGroup
from tui.context import AppContext
from tui.workspace import WorkspaceError

USER_ERRORS: tuple[type[Exception], ...] = (
    GraphError,
    StoreError,
    RunbookError,
    PostmortemError,
    WorkspaceError,
)

app = typer.Typer(
    name="oncall",
    help="A terminal assistant for on-call operators of ML platforms.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyCommandGroup,  # imports a command's module only when that command runs
)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Workspace directory (holds oncall.toml)."),
    ] = None,
    catalog: Annotated[
        list[Path] | None,
        typer.Option("--catalog", help="Catalog file or directory to load instead (repeatable)."),
    ] = None,
    lineage: Annotated[
        list[Path] | None,
        typer.Option(
            "--lineage", help="OpenLineage file or directory to load instead (repeatable)."
        ),
    ] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Act as this operator (a catalog user ref).")
    ] = None,
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


def main() -> None:
    """Console-script entry point: run the Typer app and turn user errors into exit code 2."""
    try:
        app()
    except USER_ERRORS as exc:
        typer.echo(f"oncall: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("oncall: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
