"""`oncall incident` commands: open, list, show, watch, note, ack, mitigate, resolve, verify.

The asset and commander are resolved against the catalog here, before the store is touched, so a
typo is refused (with the closest names) and nothing is written. The actor of every change is
the operator (`--as`, `$ONCALL_USER`, `oncall.toml` operators, the OS user).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from graph.errors import AssetNotFound, GraphError
from tui.commands.common import app_context, open_store, print_json

if TYPE_CHECKING:
    from incidents.records import Event, Incident
    from tui.context import AppContext

incident_app = typer.Typer(
    name="incident",
    help="Open, follow and close incidents; every change goes on a tamper-evident timeline.",
    no_args_is_help=True,
)

IdArg = Annotated[str, typer.Argument(metavar="ID", help="Incident id, e.g. INC-7 (or just 7).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


class WrongKindOfEntity(GraphError):
    """The name resolves, but to the wrong kind of thing (a team given as the asset, say)."""


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(incident_app)


@incident_app.command("open")
def open_incident(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(metavar="TITLE", help="What is wrong, in a few words.")],
    asset: Annotated[
        str, typer.Option("--asset", "-a", help="The affected asset: a catalog ref or name.")
    ],
    severity: Annotated[
        str, typer.Option("--severity", "-s", help="SEV1 (worst) to SEV4.")
    ] = "SEV2",
    commander: Annotated[
        str | None, typer.Option("--commander", "-c", help="Incident commander (a catalog user).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open an incident on an asset."""
    from incidents.lifecycle import normalise_severity

    obj = app_context(ctx)
    severity = normalise_severity(severity)  # before the catalog loads: fail fast on a typo
    asset_ref = _resolve_asset(obj, asset)
    commander_ref = _resolve_user(obj, commander, "--commander") if commander else None
    with open_store(ctx) as store:
        already = [i for i in store.list_incidents() if i.asset == asset_ref]
        incident = store.open_incident(
            title, asset_ref, severity, actor=obj.operator, commander=commander_ref
        )
    for other in already:  # opened anyway (scripts rely on it), but never silently
        typer.echo(
            f"warning: {other.id} was already open on {asset_ref} ({other.title}); "
            f"if this is the same problem, add to it: oncall incident note {other.id} TEXT",
            err=True,
        )
    if as_json:
        print_json(incident.to_json())
        return
    typer.echo(f"opened {incident.id} [{incident.severity}] {incident.title}")
    typer.echo(
        f"  asset {incident.asset}  commander {incident.commander or '-'}  by {obj.operator}"
    )


@incident_app.command("list")
def list_incidents(
    ctx: typer.Context,
    include_closed: Annotated[
        bool, typer.Option("--all", help="Include resolved incidents.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List open incidents, newest first."""
    with open_store(ctx) as store:
        incidents = store.list_incidents(include_closed=include_closed)
    if as_json:
        print_json([incident.to_json() for incident in incidents])
        return
    if not incidents:
        hint = "" if include_closed else " (--all includes resolved ones)"
        typer.echo(f"no {'' if include_closed else 'open '}incidents{hint}")
        return
    now = datetime.now(UTC)
    rows = [
        (i.id, i.severity, i.status, _age(now - i.opened_at), i.asset, i.title) for i in incidents
    ]
    _print_table(("ID", "SEV", "STATUS", "AGE", "ASSET", "TITLE"), rows)


@incident_app.command("show")
def show(ctx: typer.Context, incident_id: IdArg, as_json: JsonOpt = False) -> None:
    """Show an incident and its timeline."""
    with open_store(ctx) as store:
        incident = store.get_incident(incident_id)
        events = store.events(incident.id)
        chain = store.verify(incident.id)
    if as_json:
        verified = {"ok": chain.ok, "first_bad": chain.first_bad, "reason": chain.reason}
        print_json(
            {**incident.to_json(), "events": [e.to_json() for e in events], "chain": verified}
        )
        if not chain.ok:
            raise typer.Exit(1)
        return
    _print_incident(incident)
    typer.echo("")
    if not chain.ok:
        _warn_broken(incident.id, chain)
    plural = "s" if len(events) != 1 else ""
    typer.echo(f"timeline ({len(events)} event{plural}, times in UTC)")
    _print_timeline(events)
    if not chain.ok:
        _warn_broken(incident.id, chain)
        raise typer.Exit(1)


def _warn_broken(incident_id: str, chain: Any) -> None:
    """Said before and after the timeline: a forged timeline is never shown as if whole."""
    at = f" at event #{chain.first_bad}" if chain.first_bad is not None else ""
    typer.secho(
        f"WARNING: {incident_id}'s timeline does NOT verify{at}: {chain.reason}. It may not be "
        "what was recorded (see `oncall incident verify`).",
        fg="red",
        bold=True,
        err=True,
    )


@incident_app.command("watch")
def watch(ctx: typer.Context, incident_id: IdArg, as_json: JsonOpt = False) -> None:
    """Follow the timeline as it grows, like tail -f (Ctrl-C stops). `--json`: one event a line."""
    import json

    with open_store(ctx) as store:
        incident = store.get_incident(incident_id)
        events = store.events(incident.id)
        if not as_json:
            _print_incident(incident)
            typer.echo("")
            typer.echo("timeline (times in UTC; following, Ctrl-C stops)")

        def show(batch: list[Event]) -> None:
            for event in batch:
                if as_json:
                    typer.echo(json.dumps(event.to_json(), ensure_ascii=False, default=str))
                else:
                    _print_timeline([event])

        show(events)
        last = events[-1].seq if events else 0
        try:
            with store.follow(incident.id) as follower:
                while True:
                    if follower.wait(1.0):
                        fresh = store.events(incident.id, after_seq=last)
                        show(fresh)
                        last = fresh[-1].seq if fresh else last
        except KeyboardInterrupt:
            return


@incident_app.command("note")
def note(
    ctx: typer.Context,
    incident_id: IdArg,
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="The note, as it should read on the timeline.")
    ],
) -> None:
    """Add a note to the incident's timeline."""
    obj = app_context(ctx)
    with open_store(ctx) as store:
        event = store.append_event(incident_id, "note", text, obj.operator)
    typer.echo(f"{event.incident_id} #{event.seq} note by {event.actor}")


def _move(ctx: typer.Context, incident_id: str, status: str) -> None:
    obj = app_context(ctx)
    with open_store(ctx) as store:
        before = store.get_incident(incident_id)
        incident = store.set_status(incident_id, status, actor=obj.operator)
    typer.echo(
        f"{incident.id} {incident.status} at {_clock(_status_time(incident))} by {obj.operator}"
    )
    if incident.commander and not before.commander:
        typer.echo(f"  commander: {incident.commander} (the first to acknowledge)")


@incident_app.command("ack")
def ack(ctx: typer.Context, incident_id: IdArg) -> None:
    """Acknowledge: someone is on it."""
    _move(ctx, incident_id, "acknowledged")


@incident_app.command("mitigate")
def mitigate(ctx: typer.Context, incident_id: IdArg) -> None:
    """Mark mitigated: the impact has stopped (acknowledges it too if needed)."""
    _move(ctx, incident_id, "mitigated")


@incident_app.command("resolve")
def resolve(ctx: typer.Context, incident_id: IdArg) -> None:
    """Mark resolved: fixed for good (marks the earlier stages too if needed)."""
    _move(ctx, incident_id, "resolved")


@incident_app.command("command")
def command(ctx: typer.Context, incident_id: IdArg) -> None:
    """Take command of the incident (the first to acknowledge takes it when nobody has)."""
    obj = app_context(ctx)
    with open_store(ctx) as store:
        before = store.get_incident(incident_id)
        incident = store.take_command(incident_id, actor=obj.operator)
    if before.commander == incident.commander:
        typer.echo(f"{incident.id}: {incident.commander} already commands it")
        return
    previous = f" (from {before.commander})" if before.commander else ""
    typer.echo(f"{incident.id} commander: {incident.commander}{previous}")


@incident_app.command("verify")
def verify(
    ctx: typer.Context,
    incident_id: IdArg,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            metavar="HASH",
            help="A head hash recorded elsewhere (a committed postmortem's): history up to it "
            "must be unchanged, which a rewritten head in the database cannot fake.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the timeline's hash chain. Exit 0 when intact, 1 naming the first bad event."""
    from incidents.lifecycle import normalise_incident_id

    with open_store(ctx) as store:
        report = store.verify(incident_id, anchor=head.strip().lower() if head else None)
    shown_id = normalise_incident_id(incident_id)
    if as_json:
        print_json(
            {
                "id": shown_id,
                "ok": report.ok,
                "count": report.count,
                "first_bad": report.first_bad,
                "first_bad_id": report.first_bad_id,
                "reason": report.reason,
                "anchor_seq": report.anchor_seq,
            }
        )
    elif report.ok:
        anchored = f"; history up to #{report.anchor_seq} matches --head" if head else ""
        typer.echo(
            f"{shown_id}: timeline intact ({report.count} events, hash chain verified{anchored})"
        )
    else:
        row = f" (id {report.first_bad_id})" if report.first_bad_id is not None else ""
        typer.echo(
            f"{shown_id}: timeline NOT intact at event #{report.first_bad}{row}: {report.reason}"
        )
    if not report.ok:
        raise typer.Exit(1)


# -- resolving what the operator typed ----------------------------------------------------------


def _resolve_asset(obj: AppContext, text: str) -> str:
    """The canonical ref of the asset `text` names (AssetNotFound suggests the closest)."""
    catalog = obj.catalog
    entity = catalog.resolve(text)
    if not entity.is_asset:
        raise WrongKindOfEntity(
            f"{text!r} is {entity.ref}, a {entity.kind}, not an asset: an incident is opened on "
            "a system, component, resource, dataset or job"
        )
    return entity.ref


def _resolve_user(obj: AppContext, text: str, option: str) -> str:
    """The canonical ref of the catalog user `text` names."""
    try:
        entity = obj.catalog.resolve(text)
    except AssetNotFound as exc:
        hint = f"; did you mean: {', '.join(exc.suggestions)}?" if exc.suggestions else ""
        raise WrongKindOfEntity(f"{option}: no one named {text!r} in the catalog{hint}") from None
    if entity.kind != "user":
        raise WrongKindOfEntity(f"{option}: {entity.ref} is a {entity.kind}, not a user")
    return entity.ref


# -- human output -------------------------------------------------------------------------------


def _print_incident(incident: Incident) -> None:
    typer.echo(f"{incident.id}  {incident.severity}  {incident.status}  {incident.title}")
    typer.echo(f"  asset      {incident.asset}")
    typer.echo(f"  commander  {incident.commander or '-'}")
    opened = incident.opened_at
    for label, when in (
        ("opened", incident.opened_at),
        ("acked", incident.acknowledged_at),
        ("mitigated", incident.mitigated_at),
        ("resolved", incident.resolved_at),
    ):
        if when is None:
            typer.echo(f"  {label:<10} -")
        elif when == opened:
            typer.echo(f"  {label:<10} {_timestamp(when)} UTC")
        else:
            typer.echo(f"  {label:<10} {_timestamp(when)} UTC  (+{_age(when - opened)})")


def _print_timeline(events: list[Event]) -> None:
    rows = [
        (f"#{e.seq}", _timestamp(e.at), e.who, e.kind, e.message.replace("\n", " ")) for e in events
    ]
    _print_table(None, rows, indent="  ")


def _print_table(
    header: tuple[str, ...] | None, rows: list[tuple[str, ...]], indent: str = ""
) -> None:
    """Columns padded to their widest cell; the last column is left ragged."""
    table = ([header] if header else []) + rows
    if not table:
        return
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo(indent + "  ".join([*cells, row[-1]]).rstrip())


def _status_time(incident: Incident) -> datetime:
    for when in (
        incident.resolved_at,
        incident.mitigated_at,
        incident.acknowledged_at,
        incident.opened_at,
    ):
        if when is not None:
            return when
    return incident.opened_at


def _timestamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _clock(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%H:%M:%S UTC")


def _age(delta: timedelta) -> str:
    """`3d04h`, `2h05m`, `4m10s`, `12s` (`tui.durations`, without the space)."""
    from tui.durations import format_duration

    return format_duration(delta, sep="")
