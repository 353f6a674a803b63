"""`oncall postmortem INC`: the morning-after draft, written to the workspace's `postmortems/`.

Prints the path it wrote (stdout) and, on stderr, which edited files it left alone. `--json`
prints the same content as data instead of writing markdown (for tools that file it elsewhere);
`--out -` prints the markdown itself. The no-overwrite rule is `postmortems.writer`'s: an edited
draft is never touched (the new one goes to `-2`, `-3`, …); `--force` regenerates the main file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from incidents.store import Store
from postmortems.build import build_draft
from postmortems.render import choose_template, render_markdown
from postmortems.writer import draft_filename, write_draft
from tui.context import AppContext


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("postmortem")(postmortem_command)


def postmortem_command(
    ctx: typer.Context,
    incident: Annotated[str, typer.Argument(help="The incident id, e.g. INC-7 (or just 7).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write here instead of postmortems/YYYY-MM-DD-<slug>.md; '-' prints it.",
            show_default=False,
        ),
    ] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template",
            help="Jinja2 template to use instead of the workspace's templates/postmortem.md.j2 "
            "or the bundled one.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Regenerate the file even if someone edited it."),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the draft as JSON instead of writing markdown."),
    ] = False,
) -> None:
    """Write the postmortem draft of INCIDENT and print its path.

    Never overwrites a draft a person edited: the new one goes to NAME-2.md, NAME-3.md, ...; an
    untouched earlier draft of the same incident is replaced. JSON (schema oncall.postmortem/v1):
    incident, generated_at, summary, impact, timeline, detection, runs, metrics, root_cause,
    lessons, action_items, chain, notes.
    """
    app_ctx: AppContext = ctx.obj
    workspace = app_ctx.workspace
    catalog = app_ctx.catalog
    with Store.open(workspace.database_url) as store:
        draft = build_draft(store, catalog, incident, workspace_root=workspace.root)
    if as_json:
        typer.echo(json.dumps(draft.to_dict(), indent=2, ensure_ascii=False))
        return
    choice = choose_template(template, workspace.templates_dir)
    markdown = render_markdown(draft, choice)
    if out is not None and str(out) == "-":
        typer.echo(markdown, nl=False)
        _warn_if_broken(draft)
        return
    base = out or workspace.postmortems_dir / draft_filename(
        draft.incident.opened_at.date(), draft.incident.title, draft.incident.id
    )
    result = write_draft(markdown, base, draft.incident.id, force=force)
    for kept in result.skipped:
        typer.echo(f"kept {kept.resolve()}: edited since it was generated", err=True)
    typer.echo(str(result.path.resolve()))
    _warn_if_broken(draft)


def _warn_if_broken(draft: Any) -> None:
    """A draft of a timeline that does not verify carries the warning in its header; the
    command says it too, and exits 1."""
    chain = draft.chain
    if chain.ok:
        return
    at = f" at event #{chain.first_bad}" if chain.first_bad is not None else ""
    typer.secho(
        f"WARNING: {draft.incident.id}'s timeline does NOT verify{at}: {chain.reason}; the "
        "draft says so in its header",
        fg="red",
        bold=True,
        err=True,
    )
    raise typer.Exit(1)
