"""`oncall contamination`, `plan` and `recover`: what read an asset while it was bad (from the
run history), the ordered recovery that follows, and running it.

Run history is brought up to date from the workspace's lineage files first (`runbooks.lineage_import`;
unchanged files are not read again). Exit codes: 0 ok, 2 bad input (an asset not in the graph, a
time that does not parse, a window that ends before it starts, an unknown run), one line each.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from graph.contamination import Contamination
from tui.commands.common import app_context, open_store, print_json

if TYPE_CHECKING:
    from graph.model import Catalog
    from incidents.runs import Run
    from incidents.store import Store
    from runbooks.engine import RunSession
    from runbooks.plan import Plan, PlanStep

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def register(app: typer.Typer) -> None:
    app.command("contamination")(contamination_command)
    app.command("plan")(plan_command)
    app.command("recover")(recover_command)


def contamination_command(
    ctx: typer.Context,
    asset: Annotated[
        str | None,
        typer.Argument(
            help="The asset that went bad (a ref, a unique name, or its OpenLineage name)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="When it went bad (ISO 8601; no offset means UTC).", show_default=False
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="When it was repaired (ISO 8601).", show_default=False),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="The run that wrote the bad data, instead of ASSET --since.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What read ASSET while it was bad (from --since, to --until), and what that made bad.

    JSON keys: asset, since, until, contaminated [{ref, hops, path, bad_from, owner, runs
    [{run_id, job, started_at, ended_at, state}], versions}], clean [{ref, hops, owner, reason}].
    """
    from graph.bad_window import analyse

    context = app_context(ctx)
    catalog = context.catalog
    with open_store(ctx) as store:
        import_run_history(ctx, store)
        found = analyse(catalog, store, asset, since, until, run_id)
    if as_json:
        print_json(found.as_dict())
        return
    print_contamination(catalog, found)


def import_run_history(ctx: typer.Context, store: Store) -> None:
    """Record any lineage file that changed into the store's run history."""
    from runbooks.lineage_import import import_lineage

    report = import_lineage(store, _lineage_paths(ctx))
    for problem in report.problems:
        _warn(problem)


def _lineage_paths(ctx: typer.Context) -> list[Path]:
    context = app_context(ctx)
    return list(
        context.lineage_args or ([] if context.catalog_args else context.workspace.lineage_paths)
    )


def _warn(problem: str) -> None:
    print(f"oncall: warning: {problem}", file=sys.stderr)


def print_contamination(catalog: Catalog, found: Contamination) -> None:
    window = f"from {_when(found.since)}" + (
        f" to {_when(found.until)}" if found.until else ", not repaired"
    )
    typer.echo(f"{found.asset} bad {window}")
    typer.echo("")
    typer.echo(f"Contaminated ({len(found.contaminated)})")
    rows = [
        [
            str(c.hops),
            c.ref,
            _when(c.bad_from),
            ", ".join(c.versions) or "-",
            str(len(c.runs)),
            c.owner or "(no owner)",
        ]
        for c in found.contaminated
    ]
    _table(["HOPS", "ASSET", "BAD FROM", "VERSIONS", "RUNS", "OWNER"], rows)
    typer.echo("")
    typer.echo(f"Downstream, clean ({len(found.clean)})")
    rows = [[str(c.hops), c.ref, c.owner or "(no owner)", c.reason] for c in found.clean]
    _table(["HOPS", "ASSET", "OWNER", "WHY CLEAN"], rows)


def _table(header: list[str], rows: list[list[str]]) -> None:
    if not rows:
        typer.echo("  (none)")
        return
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        typer.echo("  " + "  ".join([*cells, row[-1]]))


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


# -- plan / recover ---------------------------------------------------------------------------

SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="When the incident's asset went bad (default: the `since` its alert carries).",
        show_default=False,
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="When it was repaired (ISO 8601).", show_default=False),
]


def plan_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The incident (INC-n).")],
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
) -> None:
    """The ordered recovery plan for the incident's asset: one runbook per contaminated asset,
    sources first, parameters filled from the analysis; assets with no runbook as manual items.

    JSON keys: incident, asset, since, until, steps [{step, asset, owner, hops, versions, kind
    (runbook|manual), runbook, title, params, changes, reason}], clean [ref].
    """
    with open_store(ctx) as store:
        plan = make_plan(ctx, store, incident_id, since, until)
    if as_json:
        print_json(plan.as_dict())
        return
    print_plan(plan)


def recover_command(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The incident (INC-n).")],
    since: SinceOption = None,
    until: UntilOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Confirm every non-destructive step.")
    ] = False,
    yes_destructive: Annotated[
        bool, typer.Option("--yes-destructive", help="Also confirm destructive steps (scripts).")
    ] = False,
    break_glass: Annotated[
        str | None,
        typer.Option(
            "--break-glass", help="Act on assets you neither own nor are on call for, saying why."
        ),
    ] = None,
    in_doubt: Annotated[
        str | None,
        typer.Option(
            "--in-doubt", metavar="done|redo", help="Settle in-doubt steps without asking."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the recovery plan: each step an ordinary runbook run (leased, idempotent, resumable).

    Running it again changes nothing; after an interruption it continues where it stopped.
    JSON keys: incident, status (done|manual|stopped), runs [what `runbook run --json` prints],
    manual [plan steps left to people].
    """
    from runbooks.engine import resume_run, start_run
    from runbooks.library import load_library
    from runbooks.plan import recover
    from tui.commands.runbook import TerminalPrompter, _env, _options, _printer, _settlement

    options = _options(
        dry_run=False,
        yes=yes,
        yes_destructive=yes_destructive,
        force=False,
        reason=None,
        break_glass=break_glass,
    )
    context = app_context(ctx)
    out = sys.stderr if as_json else sys.stdout
    prompter = TerminalPrompter(
        yes=yes, yes_destructive=yes_destructive, in_doubt=_settlement(in_doubt), out=out
    )
    env = _env(ctx)
    catalog = context.catalog
    operator = context.operator
    with open_store(ctx) as store:
        plan = make_plan(ctx, store, incident_id, since, until)
        library = load_library(env.runbooks_dir, env.lock_file)

        def start(step: PlanStep) -> RunSession:
            return start_run(
                store=store,
                env=env,
                catalog=catalog,
                runbook_id=step.runbook or "",
                incident_id=plan.incident,
                params=step.params,
                operator=operator,
                options=options,
                prompter=prompter,
                on_event=_printer(out),
            )

        def resume(run: Run) -> RunSession:
            return resume_run(
                store=store,
                env=env,
                catalog=catalog,
                run_id=run.id,
                operator=operator,
                options=options,
                prompter=prompter,
                on_event=_printer(out),
            )

        report = recover(
            store=store,
            catalog=catalog,
            plan=plan,
            library=library,
            start=start,
            resume=resume,
            actor=operator,
            say=lambda text: typer.echo(text, file=out),
        )
    if as_json:
        print_json(report.as_dict())
    else:
        for run in report.runs:
            typer.echo(f"  {run['run']}  {run['runbook']:<28} {run['status']}", file=out)
        for item in report.manual:
            typer.echo(
                f"  by hand: {item['asset']} ({item['owner'] or 'no owner'}): {item['reason']}",
                file=out,
            )
        typer.echo(f"{plan.incident}: recovery {report.status}", file=out)
    if report.started == 0 and report.runs:
        runs = ", ".join(str(run["run"]) for run in report.runs)
        typer.echo(
            f"{plan.incident}: the recovery was already done ({runs}): nothing was started, "
            "nothing changed",
            file=out,
        )
    if report.status == "stopped":
        raise typer.Exit(1)


def make_plan(
    ctx: typer.Context, store: Store, incident_id: str, since: str | None, until: str | None
) -> Plan:
    """The plan for the incident: its asset, the bad window (options, else the alert's `since`)."""
    from runbooks.incident_plan import plan_for_incident
    from tui.commands.runbook import _env

    context = app_context(ctx)
    return plan_for_incident(
        store=store,
        catalog=context.catalog,
        env=_env(ctx),
        incident_id=incident_id,
        operator=context.operator,
        lineage_paths=_lineage_paths(ctx),
        since=since,
        until=until,
        warn=_warn,
    ).plan


def print_plan(plan: Plan) -> None:
    window = f"since {plan.since}" + (f" until {plan.until}" if plan.until else "")
    typer.echo(f"{plan.incident}: recovery plan for {plan.asset} ({window})")
    for step in plan.steps:
        owner = step.owner or "no owner"
        versions = f" versions {', '.join(step.versions)}" if step.versions else ""
        if step.manual:
            typer.echo(f"  {step.number}. BY HAND  {step.asset} ({owner}){versions}")
            typer.echo(f"       {step.reason}")
            continue
        params = " ".join(f"{k}={v}" for k, v in step.params.items())
        typer.echo(f"  {step.number}. {step.runbook}  {step.asset} ({owner}){versions}")
        typer.echo(f"       params: {params}")
        for change in step.changes:
            typer.echo(f"       - {change}")
    if plan.clean:
        typer.echo(f"  downstream but clean (no step): {', '.join(plan.clean)}")
    typer.echo(f"run it with: oncall recover {plan.incident}")
