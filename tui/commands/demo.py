"""`oncall demo` commands: init, break, reset — the weekend of seed 000, runnable.

`init [DIR]` writes the demo workspace (files and seeded databases) to DIR, or to the workspace
`--workspace`/`$ONCALL_WORKSPACE`/the current directory names, or to the user data directory;
`break` reproduces the incident in the current (demo) workspace and prints the recovery;
`reset` re-seeds the databases and removes the workspace's local state store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tui.commands.common import app_context, print_json

if TYPE_CHECKING:
    pass

demo_app = typer.Typer(
    name="demo",
    help="The bundled demo: the weekend the nightly ETL loaded four partial batches.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(demo_app)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"oncall: {exc}", err=True)
    return typer.Exit(2)


def _init_target(ctx: typer.Context, directory: Path | None) -> Path:
    """DIR, else the workspace the global options or the current directory name, else the
    user data directory (where `oncall` alone puts the demo)."""
    from workspace.discovery import ENV_WORKSPACE, default_demo_root, find_workspace_root

    if directory is not None:
        return directory
    obj = app_context(ctx)
    if obj.workspace_arg is not None:
        return obj.workspace_arg
    if os.environ.get(ENV_WORKSPACE):
        return Path(os.environ[ENV_WORKSPACE])
    return find_workspace_root(Path.cwd()) or default_demo_root()


@demo_app.command("init")
def init(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Argument(help="Where to create the demo workspace.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the demo workspace with its SQLite databases and vetted runbooks."""
    from demo import DemoError, init_workspace
    from demo.databases import DATABASES

    target = _init_target(ctx, directory)
    try:
        root = init_workspace(target)
    except DemoError as exc:
        raise _fail(exc) from exc
    databases = [str(root / "data" / name) for name in DATABASES]
    if as_json:
        print_json({"workspace": str(root), "databases": databases})
        return
    typer.echo(f"demo workspace ready at {root}")
    typer.echo(f"  databases: {', '.join(Path(d).name for d in databases)} in {root / 'data'}")
    typer.echo(f"  next: oncall -w {root} demo break")


@demo_app.command("break")
def break_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Reproduce seed 000: partial loads, a bad champion, republished feeds, an open incident."""
    from demo import DemoError, break_workspace
    from incidents.store import Store

    ws = app_context(ctx).workspace
    try:
        from demo.install import require_demo

        require_demo(ws.root)
        store = Store.open(ws.database_url)
        try:
            breakage = break_workspace(ws.root, store)
        finally:
            store.close()
    except DemoError as exc:
        raise _fail(exc) from exc
    if as_json:
        print_json({"workspace": str(ws.root), **breakage.as_dict()})
        return
    typer.echo(f"broke the demo at {ws.root}:")
    typer.echo(
        f"  nightly-etl failed on {breakage.day}; four partial batches since {breakage.since}"
    )
    typer.echo(f"  demand-forecast v{breakage.bad_model_version} trained on them is champion")
    typer.echo("  pricing-feed and tax-feed republished from it")
    typer.echo(f"  {breakage.incident_id} is open on training-db with its alert on the timeline")
    typer.echo("recover with:")
    typer.echo(f"  {breakage.recover_command()}")
    typer.echo("which runs these runbooks, in order (each can also be run by hand):")
    for command in breakage.commands():
        typer.echo(f"    {command}")


@demo_app.command("reset")
def reset(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Start the demo over: databases re-seeded, local incidents, runs and leases removed."""
    from demo import DemoError, reset_workspace

    ws = app_context(ctx).workspace
    state_db = ws.state_dir / "state.db" if ws.config.database_url is None else None
    try:
        reset_workspace(ws.root, state_db)
    except DemoError as exc:
        raise _fail(exc) from exc
    if as_json:
        print_json({"workspace": str(ws.root), "state_removed": state_db is not None})
        return
    removed = " and its local state store" if state_db is not None else ""
    typer.echo(f"reset the demo databases{removed} at {ws.root}")
