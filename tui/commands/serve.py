"""`oncall serve`: the HTTP intake (Alertmanager webhooks, OpenLineage events) for the workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from tui.commands.common import app_context


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (non-loopback needs a token).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8787,
) -> None:
    """Receive Alertmanager alerts and OpenLineage events over HTTP into the workspace's store."""
    from intake.errors import IntakeError
    from intake.server import serve as run

    try:
        run(app_context(ctx).workspace, host=host, port=port)
    except IntakeError as exc:
        typer.echo(f"oncall serve: {exc}", err=True)
        raise typer.Exit(2) from None
