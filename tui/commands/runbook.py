"""`oncall runbook` commands: list, show, vet, run, resume, runs, page.

The engine (`runbooks.engine`) does the work; this module turns options into `RunOptions`, asks
the operator on the terminal (`TerminalPrompter`), prints what happens, and maps the outcome to
an exit code: 0 when the run is done (or a dry run finished), 1 when it stopped, failed or left
a step in doubt, 2 for a usage or input error (raised as the packages' error classes).

With `--json` the only thing on stdout is one JSON document; progress goes to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runbooks.errors import RunbookError
from tui.commands.common import app_context, open_store, print_json

if TYPE_CHECKING:
    from incidents.store import Store
    from runbooks.engine import EngineEvent, RunReport, StepState
    from runbooks.environment import RunbookEnv
    from runbooks.permissions import BreakGlassRequest
    from runbooks.prompts import Settlement

runbook_app = typer.Typer(
    name="runbook",
    help="Vetted recovery runbooks: list, read, vet, run (idempotent, leased), resume; page.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
YesOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Answer confirmations (never a destructive step's)."),
]
YesDestructiveOpt = Annotated[
    bool, typer.Option("--yes-destructive", help="Also confirm destructive steps (scripts).")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Take over leases held by another run (needs --reason).")
]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why --force is needed; goes on the timeline.")
]
BreakGlassOpt = Annotated[
    str | None,
    typer.Option(
        "--break-glass",
        metavar="REASON",
        help="Run destructive steps on assets you neither own nor are on call for; recorded.",
    ),
]
InDoubtOpt = Annotated[
    str | None,
    typer.Option(
        "--in-doubt",
        metavar="done|redo",
        help="Settle in-doubt steps that have no check without asking: the effect happened "
        "(done) or did not (redo). Recorded as your decision.",
    ),
]


class UsageProblem(RunbookError):
    """Options that do not go together."""


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(runbook_app)


def _env(ctx: typer.Context) -> RunbookEnv:
    from runbooks.environment import RunbookEnv

    ws = app_context(ctx).workspace
    return RunbookEnv(
        root=ws.root,
        runbooks_dir=ws.runbooks_dir,
        lock_file=ws.lock_file,
        connections=ws.connections,
        credentials=ws.credentials,
        notify_webhook=ws.config.notify_webhook,
    )


# -- list / show / vet -----------------------------------------------------------------------


@runbook_app.command("list")
def list_runbooks(
    ctx: typer.Context,
    asset: Annotated[
        str | None, typer.Option("--asset", "-a", help="Only runbooks that apply to this asset.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the workspace's runbooks with their vetted state (vetted, changed, unlisted, invalid)."""
    from runbooks.library import load_library

    env = _env(ctx)
    library = load_library(env.runbooks_dir, env.lock_file)
    entries = list(library.entries)
    if asset:
        entity = app_context(ctx).catalog.resolve(asset)
        entries = library.for_asset(entity)
    rows = [_entry_json(e, env) for e in entries]
    if as_json:
        print_json(rows)
        return
    if not rows:
        where = f" for {asset}" if asset else f" in {env.runbooks_dir}"
        typer.echo(f"no runbooks{where}")
        return
    width = max(len(str(r["id"])) for r in rows)
    for row in rows:
        state = str(row["state"]).upper() if row["state"] != "vetted" else "vetted"
        version = f"v{row['version']}" if row["version"] else "  "
        typer.echo(
            f"{row['id']!s:<{width}}  {version:>3}  {state:<8}  {row['title'] or row['error']}"
        )


def _entry_json(entry: Any, env: RunbookEnv) -> dict[str, Any]:
    runbook = entry.runbook
    file = _relative(entry.path, env)
    if runbook is None:
        return {
            "id": entry.path.stem,
            "title": None,
            "version": None,
            "state": entry.state,
            "file": file,
            "applies_to": None,
            "reviewer": None,
            "vetted_at": None,
            "error": str(entry.error),
        }
    spec = runbook.spec
    return {
        "id": spec.id,
        "title": spec.title,
        "version": spec.version,
        "state": entry.state,
        "file": file,
        "applies_to": spec.applies_to.model_dump(),
        "reviewer": entry.lock.reviewer if entry.lock else None,
        "vetted_at": entry.lock.vetted_at if entry.lock else None,
        "error": None,
    }


def _relative(path: Any, env: RunbookEnv) -> str:
    try:
        return str(path.resolve().relative_to(env.root.resolve()))
    except ValueError:
        return str(path)


@runbook_app.command("show")
def show(
    ctx: typer.Context,
    runbook_id: Annotated[str, typer.Argument(help="The runbook's id.")],
    as_json: JsonOpt = False,
) -> None:
    """Show a runbook: parameters, steps with their actions and checks, vetted state."""
    from runbooks.library import load_library

    env = _env(ctx)
    entry = load_library(env.runbooks_dir, env.lock_file).get(runbook_id)
    if entry.runbook is None:
        assert entry.error is not None
        raise entry.error
    spec = entry.runbook.spec
    if as_json:
        print_json(
            {
                **_entry_json(entry, env),
                "sha256": entry.runbook.sha256,
                "description": spec.description,
                "params": {k: v.model_dump(exclude_none=True) for k, v in spec.params.items()},
                "steps": [s.model_dump(mode="json", exclude_none=True) for s in spec.steps],
            }
        )
        return
    vetted = (
        f"vetted by {entry.lock.reviewer} on {entry.lock.vetted_at}"
        if entry.state == "vetted" and entry.lock
        else f"{entry.state.upper()}: dry-run only until vetted"
    )
    typer.echo(f"{spec.id} v{spec.version}: {spec.title}")
    typer.echo(f"  file {_relative(entry.path, env)}  ({vetted})")
    if spec.description:
        typer.echo(f"  {spec.description.strip()}")
    typer.echo(f"  applies to: {_applies(spec.applies_to)}")
    if spec.params:
        typer.echo("parameters:")
        for name, param in spec.params.items():
            need = "required" if param.required else f"default {param.default!r}"
            extra = f" ({'/'.join(param.choices)})" if param.choices else ""
            helptext = f"  {param.help}" if param.help else ""
            typer.echo(f"  {name}: {param.type}{extra}, {need}{helptext}")
    typer.echo("steps:")
    for index, step in enumerate(spec.steps, start=1):
        flags = [f for f, on in (("DESTRUCTIVE", step.destructive),) if on]
        flags.append(f"timeout {step.timeout:g}s")
        if step.retries:
            flags.append(f"retries {step.retries}")
        flags.append(f"on failure {step.on_failure}")
        typer.echo(f"  {index}. {step.id}: {step.title}  [{', '.join(flags)}]")
        typer.echo(f"     action: {_one_line(step.action)}")
        if step.check:
            typer.echo(f"     check:  {_one_line(step.check)}")
        if step.verify:
            typer.echo(f"     verify: {_one_line(step.verify)}")


def _applies(applies_to: Any) -> str:
    from runbooks.params import describe_applies

    return describe_applies(applies_to)


def _one_line(action: Any) -> str:
    data = action.model_dump(mode="json", exclude_none=True, by_alias=True)
    kind = data.pop("type")
    text = " ".join(f"{k}={v}" for k, v in data.items() if v not in ({}, []))
    text = " ".join(text.split())
    return f"{kind} {text[:160]}{'…' if len(text) > 160 else ''}"


@runbook_app.command("vet")
def vet_command(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The runbook file to vet, as it is now.")],
    reviewer: Annotated[
        str, typer.Option("--reviewer", help="Who reviewed it: a catalog user (not its author).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Record in runbooks.lock that REVIEWER vetted FILE (id, version, sha256, time)."""
    from pathlib import Path

    from runbooks.vetting import vet

    obj = app_context(ctx)
    ws = obj.workspace
    if not ws.config.allow_impersonation:  # the reviewer is whoever runs vet (SECURITY.md)
        from workspace.errors import ImpersonationRefused
        from workspace.model import os_user

        me = os_user()
        mapped = ws.config.operators.get(me)
        if mapped is None or obj.user_ref(mapped) != obj.user_ref(reviewer):
            raise ImpersonationRefused(
                f"--reviewer {reviewer}: the OS user {me} "
                + (f"is mapped to {mapped}" if mapped else "has no entry")
                + " in [operators] of oncall.toml; only they may vet as themselves "
                "(allow_impersonation = true lifts this)"
            )
    entry = vet(Path(file), reviewer, ws.lock_file, catalog=obj.catalog)
    if as_json:
        print_json({"id": entry.id, **entry.as_dict()})
        return
    scripts = f", and {len(entry.scripts)} script(s) it runs" if entry.scripts else ""
    typer.echo(
        f"vetted {entry.id} v{entry.version} (sha256 {entry.sha256[:12]}…{scripts}) by "
        f"{entry.reviewer} (run by {entry.vetted_by}) in {ws.lock_file.name}"
    )


# -- run / resume ----------------------------------------------------------------------------


class TerminalPrompter:
    """Asks on the terminal; flags answer for scripts. Without a terminal and without the flag,
    the answer is no (a script never confirms by accident)."""

    def __init__(
        self,
        *,
        yes: bool,
        yes_destructive: bool,
        in_doubt: Settlement | None,
        out: Any,
    ) -> None:
        self.yes = yes
        self.yes_destructive = yes_destructive
        self.in_doubt = in_doubt
        self.out = out
        self.interactive = sys.stdin.isatty()

    def _show(self, text: str) -> None:
        for line in text.splitlines():
            typer.echo(f"      {line}", file=self.out)

    def confirm_step(self, step: StepState, text: str) -> bool:
        if self.yes:
            return True
        self._show(text)
        if not self.interactive:
            typer.echo("      (no terminal to confirm on: pass --yes)", file=self.out)
            return False
        return typer.confirm(f"    run {step.id}?", default=False)

    def confirm_destructive(self, step: StepState, assets: Sequence[str], text: str) -> bool:
        if self.yes_destructive:
            return True
        self._show(text)
        if not self.interactive:
            typer.echo(
                "      (destructive: confirm on a terminal, or pass --yes-destructive)",
                file=self.out,
            )
            return False
        name = assets[0].rsplit("/", 1)[-1] if assets else step.id
        question = f"    {step.id} is DESTRUCTIVE on {', '.join(assets)}. Type {name!r} to run it"
        while True:  # a typo asks again; only an empty answer declines
            typed = typer.prompt(question + " (empty: stop)", default="", show_default=False)
            if typed.strip() == name:
                return True
            if not typed.strip():
                return False
            typer.echo(f"      {typed.strip()!r} is not {name!r}; try again", file=self.out)

    def can_confirm_destructive(self) -> bool:
        return self.yes_destructive or self.interactive

    def confirm_manual(self, step: StepState, instruction: str) -> bool:
        if self.yes:
            return True
        typer.echo(f"    by hand: {instruction}", file=self.out)
        if not self.interactive:
            return False
        return typer.confirm("    done?", default=False)

    def settle_in_doubt(self, step: StepState, text: str) -> Settlement:
        if self.in_doubt in ("done", "redo"):
            return self.in_doubt
        typer.echo(
            f"    {step.id} started before an interruption and has no check to tell whether it "
            "took effect:",
            file=self.out,
        )
        self._show(text)
        if not self.interactive:
            typer.echo("      (answer with --in-doubt done|redo)", file=self.out)
            return "stop"
        answer = typer.prompt("    did it take effect? [done/redo/stop]", default="stop")
        return answer if answer in ("done", "redo", "stop") else "stop"  # type: ignore[return-value]

    def break_glass(self, request: BreakGlassRequest) -> str | None:
        typer.echo(f"  ! {request.explain()}", file=self.out)
        for contact in request.contacts:
            typer.echo(f"      call instead: {contact.line()}", file=self.out)
        if not self.interactive:
            typer.echo("      (no terminal to ask on: pass --break-glass REASON)", file=self.out)
            return None
        while True:
            reason = typer.prompt(
                "    break glass? Write why (who you could not reach, why it cannot wait; "
                "empty: stop)",
                default="",
                show_default=False,
            ).strip()
            if not reason or len(" ".join(reason.split())) >= request.min_reason:
                return reason or None
            typer.echo(
                f"      a reason needs at least {request.min_reason} characters", file=self.out
            )

    def say(self, text: str) -> None:
        typer.echo(f"    {text}", file=self.out)


_MARKS = {
    "step_started": "→",
    "step_done": "✓",
    "step_skipped": "↷",
    "step_failed": "✗",
    "lease": "⚿",
    "decision": "•",
    "override": "!",
    "note": "·",
}


def _printer(out: Any) -> Any:
    def show(event: EngineEvent) -> None:
        if event.kind == "preview":  # under the action it previews, before any confirmation
            for line in event.message.splitlines():
                typer.echo(f"      would change: {line}", file=out)
            return
        typer.echo(f"  {_MARKS.get(event.kind, '·')} {event.message}", file=out)
        action = event.data.get("action")
        if isinstance(action, str) and event.kind in ("step_started", "note"):
            for line in action.splitlines():
                typer.echo(f"      {line}", file=out)

    return show


def _options(
    *,
    dry_run: bool,
    yes: bool,
    yes_destructive: bool,
    force: bool,
    reason: str | None,
    break_glass: str | None,
) -> Any:
    from runbooks.engine import RunOptions

    if force and not (reason and reason.strip()):
        raise UsageProblem("--force needs --reason TEXT (it goes on the timeline)")
    if reason and not force:
        raise UsageProblem("--reason goes with --force")
    if break_glass is not None:
        from runbooks.gate import check_break_glass_reason

        break_glass = check_break_glass_reason(break_glass)
    return RunOptions(
        dry_run=dry_run,
        yes=yes,
        yes_destructive=yes_destructive,
        force_reason=reason.strip() if force and reason else None,
        break_glass=break_glass.strip() if break_glass else None,
    )


def _settlement(value: str | None) -> Settlement | None:
    if value is None:
        return None
    if value not in ("done", "redo"):
        raise UsageProblem("--in-doubt takes done or redo")
    return value  # type: ignore[return-value]


def _finish(report: RunReport, as_json: bool, out: Any) -> None:
    if as_json:
        print_json(report.as_dict())
    else:
        if report.dry_run:
            typer.echo("dry run: nothing was changed or recorded", file=out)
        else:
            typer.echo(f"{report.run_id}: {report.status}", file=out)
        for step in report.steps:
            typer.echo(
                f"  {step.id:<24} {step.status:<10} effects {step.effect_count}  {step.message}",
                file=out,
            )
        if report.left_changed:
            typer.echo(f"left changed: {', '.join(report.left_changed)}", file=out)
        if report.next_step:
            typer.echo(f"next: {report.next_step}", file=out)
    if report.status not in ("done", "dry_run"):
        raise typer.Exit(1)


@runbook_app.command("run")
def run(
    ctx: typer.Context,
    runbook_id: Annotated[str, typer.Argument(help="The runbook's id.")],
    incident: Annotated[
        str | None,
        typer.Option("--incident", "-i", help="The incident this run is for (INC-n)."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A parameter as NAME=VALUE (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Render every step and run only checks; write nothing."),
    ] = False,
    yes: YesOpt = False,
    yes_destructive: YesDestructiveOpt = False,
    force: ForceOpt = False,
    reason: ReasonOpt = None,
    break_glass: BreakGlassOpt = None,
    in_doubt: InDoubtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a vetted runbook for an incident, step by step, each effect at most once."""
    from runbooks.engine import start_run
    from runbooks.params import parse_assignments

    options = _options(
        dry_run=dry_run,
        yes=yes,
        yes_destructive=yes_destructive,
        force=force,
        reason=reason,
        break_glass=break_glass,
    )
    params = parse_assignments(param or [])
    obj = app_context(ctx)
    out = sys.stderr if as_json else sys.stdout
    prompter = TerminalPrompter(
        yes=yes, yes_destructive=yes_destructive, in_doubt=_settlement(in_doubt), out=out
    )
    env = _env(ctx)
    with open_store(ctx) as store:
        if not dry_run and not _start_if_already_done(
            store, env, obj, runbook_id, incident, params, out, ask=not yes
        ):
            typer.echo("Not started: nothing was changed.", file=out)
            return
        session = start_run(
            store=store,
            env=env,
            catalog=obj.catalog,
            runbook_id=runbook_id,
            incident_id=incident,
            params=params,
            operator=obj.operator,
            options=options,
            prompter=prompter,
            on_event=_printer(out),
        )
        if not as_json:
            what = "dry run of" if dry_run else f"{session.run_id}:"
            typer.echo(
                f"{what} {session.runbook.id} v{session.runbook.version} for "
                f"{session.incident_id or 'no incident'} as {session.actor}",
                file=out,
            )
        report = session.run_all()
    _finish(report, as_json, out)


def _start_if_already_done(
    store: Store,
    env: RunbookEnv,
    obj: Any,
    runbook_id: str,
    incident: str | None,
    params: dict[str, str],
    out: Any,
    *,
    ask: bool,
) -> bool:
    """Before a live run: whether to start it, saying first when it would find nothing to do
    (`runbooks.already_done`, the same question the app asks). On a terminal (and without
    --yes) a finished recovery is named ("already done by RUN-1") and starting again is asked,
    default no; in a script nobody can answer, so it goes on as typed: every step is checked
    first and nothing done is repeated, and it says so."""
    from runbooks.already_done import already_done

    done = already_done(
        store=store,
        env=env,
        catalog=obj.catalog,
        runbook_id=runbook_id,
        incident_id=incident,
        params=params,
        operator=obj.operator,
    )
    if done is None:
        return True
    if ask and sys.stdin.isatty():
        typer.echo(f"{runbook_id} is {done.headline()}.", file=out)
        return typer.confirm(
            "Start it again anyway? (a new run checks every step first and repeats nothing done)",
            default=False,
        )
    why = "no terminal to ask" if not sys.stdin.isatty() else "--yes given"
    typer.echo(
        f"note: {done.headline()}; starting it again ({why}): every step is checked first "
        "and nothing already done is repeated, so nothing should change",
        file=out,
    )
    return True


@runbook_app.command("resume")
def resume(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run to continue (RUN-n).")],
    yes: YesOpt = False,
    yes_destructive: YesDestructiveOpt = False,
    force: ForceOpt = False,
    reason: ReasonOpt = None,
    break_glass: BreakGlassOpt = None,
    in_doubt: InDoubtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Continue an interrupted run: finished steps stay finished, steps in doubt are settled.

    Testing aid: ONCALL_FAILPOINT=<step>:<before|after> makes a run kill itself with SIGKILL at
    that step boundary (see runbooks/failpoints.py); never set it in production.
    """
    from runbooks.engine import resume_run

    options = _options(
        dry_run=False,
        yes=yes,
        yes_destructive=yes_destructive,
        force=force,
        reason=reason,
        break_glass=break_glass,
    )
    obj = app_context(ctx)
    out = sys.stderr if as_json else sys.stdout
    prompter = TerminalPrompter(
        yes=yes, yes_destructive=yes_destructive, in_doubt=_settlement(in_doubt), out=out
    )
    with open_store(ctx) as store:
        session = resume_run(
            store=store,
            env=_env(ctx),
            catalog=obj.catalog,
            run_id=run_id,
            operator=obj.operator,
            options=options,
            prompter=prompter,
            on_event=_printer(out),
        )
        report = session.run_all()
    _finish(report, as_json, out)


@runbook_app.command("abandon")
def abandon(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run to give up on (RUN-n).")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why it will not be resumed (goes on the timeline).")
    ],
) -> None:
    """Give up on a run that will not be resumed: it leaves the resume list, its leases are
    released, and the timeline records who, why and what it had done."""
    from runbooks.history import abandon_run

    obj = app_context(ctx)
    with open_store(ctx) as store:
        record = abandon_run(store, run_id, reason, obj.operator)
    done = f"{record.steps_done} step{'s' if record.steps_done != 1 else ''} done"
    typer.echo(f"{record.run.id} abandoned ({record.run.runbook_id}, {done}): {reason}")


@runbook_app.command("runs")
def runs(
    ctx: typer.Context,
    incident: Annotated[
        str | None, typer.Option("--incident", "-i", help="Only this incident's runs.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List runs, oldest first, with their status and step counts."""
    with open_store(ctx) as store:
        items = [_run_json(store, r) for r in store.list_runs(incident_id=incident)]
    if as_json:
        print_json(items)
        return
    if not items:
        typer.echo("no runs")
        return
    for item in items:
        note = "  (process gone: resume it)" if item["stale"] else ""
        steps = ", ".join(f"{n} {s}" for s, n in item["ledger"].items()) or _no_steps(item)
        typer.echo(
            f"{item['id']:<7} {item['status']:<11} {item['runbook']} v{item['version']} "
            f"{item['incident'] or '-'} by {item['operator']} at {item['started_at']}: {steps}{note}"
        )


def _no_steps(item: dict[str, Any]) -> str:
    """A run with nothing in its ledger: not started yet, refused, or every step skipped."""
    if item["status"] == "running":
        return "no steps yet"
    if item["status"] == "done":
        return "every step skipped (nothing left to do)"
    return "no step ran"


def _run_json(store: Store, run: Any) -> dict[str, Any]:
    from runbooks.leasing import process_alive
    from runbooks.paging import is_page_run

    ledger: dict[str, int] = {}
    for entry in store.ledger_for_run(run.id):
        ledger[entry.status] = ledger.get(entry.status, 0) + 1
    stale = False
    if run.status == "running" and not is_page_run(run):  # a page is not resumed: paged again
        leases = store.list_leases(run.id)
        now = store.clock()
        stale = not leases or all(
            process_alive(lease.host) is False or lease.is_expired(now) for lease in leases
        )
    return {
        "id": run.id,
        "incident": run.incident_id,
        "runbook": run.runbook_id,
        "version": run.version,
        "status": run.status,
        "operator": run.operator,
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
        "params": run.params,
        "ledger": ledger,
        "stale": stale,
    }


# -- page ------------------------------------------------------------------------------------


@runbook_app.command("page")
def page(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="The incident to page people about (INC-n).")],
    as_json: JsonOpt = False,
) -> None:
    """Page whoever is on call for (or owns) the incident's asset and everything it feeds.

    Sent through the runbook engine (ledger, `notify` action, a `page` event on the timeline) to
    oncall.toml's notify_webhook, else printed for you to pass on. The same people are not paged
    twice for the same incident within a minute: the second call says when they were.
    """
    from graph.impact import impact
    from runbooks.paging import page_people

    obj = app_context(ctx)
    ws = obj.workspace
    with open_store(ctx) as store:
        incident = store.get_incident(incident_id)
        now = store.clock()
        found = impact(obj.catalog, incident.asset, now)
        targets = found.page
        for item in found.unpaged:
            typer.echo(f"not paged: {item}", err=True)
        result = page_people(
            store,
            incident.id,
            targets,
            obj.operator,
            notify_webhook=ws.config.notify_webhook,
            workdir=ws.root,
            now=now,
            catalog=obj.catalog,
        )
    if as_json:
        print_json(result.as_dict())
        return
    if not result.sent:
        typer.echo(result.repeat_explained())
        return
    for person in result.people:
        reasons = "; ".join(person["reasons"]) or "owner"
        typer.echo(f"  {person['name']} <{person['email'] or 'no email'}>: {reasons}")
    if result.delivered == "webhook":
        typer.echo(f"paged {len(result.to)} people by webhook ({result.run_id})")
    else:
        typer.echo(
            f"no notify_webhook in oncall.toml: send this to them yourself ({result.run_id}):"
        )
        typer.echo(f"  {result.message}")
