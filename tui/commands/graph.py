"""`oncall owner`, `oncall impact` and `oncall graph check|stats|import`: the catalog from a shell.

Every command answers in compact lines for a person, or with `--json` in the exact shape scripts
and chat bots rely on (keys listed in each command's help). Exit codes: 0 ok, 1 `graph check`
found errors, 2 bad usage or input (an unknown or ambiguous asset included).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from graph.errors import AmbiguousAsset, AssetNotFound, DefinedTwice
from graph.impact import answerers, impact
from graph.loader import CATALOG_SUFFIXES, LINEAGE_SUFFIXES, load_catalog
from graph.model import NON_ASSET_KINDS, Catalog, Entity
from graph.queries import Affected, Ownership
from graph.records import describe_definitions
from tui.context import AppContext
from workspace.errors import WorkspaceError

graph_app = typer.Typer(
    name="graph",
    help="Check, count and import the catalog.",
    no_args_is_help=True,
)

AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="Answer for this ISO 8601 time instead of now (no offset means UTC).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("owner")(owner_command)
    app.command("impact")(impact_command)
    app.add_typer(graph_app)


# -- owner ----------------------------------------------------------------------------------------


def owner_command(
    ctx: typer.Context,
    asset: Annotated[str, typer.Argument(help="A ref (kind:namespace/name) or a unique name.")],
    at: AtOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who owns ASSET, its people, who is on call now, and the escalation chain (for a team:
    the team itself, its members and its rotation).

    JSON keys: asset, owner, members [{ref, name, email}], on_call {ref, name, email, rotation,
    until} or null, escalation [ref].
    """
    catalog = _catalog(ctx)
    when = _parse_at(at)
    entity = _resolve(catalog, asset, as_json)
    ownership = answerers(catalog, entity.ref, when)
    if ownership.ambiguous:  # refuse to name an owner: which definition is right is not ours
        message = describe_definitions(entity.ref, ownership.definitions)
        found = [d.as_dict() for d in ownership.definitions]
        if as_json:
            _print_json({"error": message, "definitions": found})
        raise DefinedTwice(message, entity.ref, found)
    if as_json:
        _print_json(ownership.as_dict())
        return
    _print_ownership(catalog, entity, ownership)
    _note_errors(catalog)


def _print_ownership(catalog: Catalog, entity: Entity, ownership: Ownership) -> None:
    typer.echo(_headline(entity))
    if ownership.owner is None:
        typer.echo("  owner       (none: add spec.owner to the descriptor)")
        return
    typer.echo(f"  owner       {_named(catalog, ownership.owner)}")
    if not ownership.owner_in_catalog:
        typer.echo("  on call     (nobody: the owner is not in the catalog)")
        return
    if ownership.on_call is not None:
        on_call = ownership.on_call
        until = on_call.until.strftime("%Y-%m-%d %H:%M UTC")
        typer.echo(
            f"  on call     {_contact(on_call.name, on_call.email)}  until {until}"
            f"  ({on_call.rotation})"
        )
    else:
        typer.echo("  on call     (no rotation for this owner)")
    for i, member in enumerate(ownership.members):
        label = "members" if i == 0 else ""
        typer.echo(f"  {label:<11} {_contact(member.name, member.email)}  {member.ref}")
    rotation = catalog.rotations.get(ownership.on_call.rotation) if ownership.on_call else None
    steps = list(rotation.escalation) if rotation else []
    for i, step in enumerate(steps):
        label = "escalation" if i == 0 else ""
        typer.echo(
            f"  {label:<11} {i + 1}. {_named(catalog, step.ref)}  after {step.delay_minutes} min"
        )


# -- impact ---------------------------------------------------------------------------------------


def impact_command(
    ctx: typer.Context,
    asset: Annotated[str, typer.Argument(help="A ref (kind:namespace/name) or a unique name.")],
    depth: Annotated[
        int | None,
        typer.Option("--depth", min=1, help="Follow at most this many hops.", show_default=False),
    ] = None,
    at: AtOption = None,
    as_json: JsonOption = False,
) -> None:
    """What ASSET feeds (the blast radius) and who to page.

    JSON keys: asset, count, affected [{ref, type, hops, path, owner}] (path: refs from ASSET to
    it), page [{ref, name, email, reasons}], unpaged [{ref, reason}] (assets nobody is paged
    for: defined twice, or owned by a ref the catalog does not hold).
    """
    catalog = _catalog(ctx)
    when = _parse_at(at)
    entity = _resolve(catalog, asset, as_json)
    found = impact(catalog, entity.ref, when, depth)
    affected, page, not_paged = found.affected, found.page, found.unpaged
    if as_json:
        _print_json(
            {
                "asset": entity.ref,
                "count": len(affected),
                "affected": [a.as_dict() for a in affected],
                "page": [p.as_dict() for p in page],
                "unpaged": [u.as_dict() for u in not_paged],
            }
        )
        return
    typer.echo(_headline(entity))
    if not affected:
        typer.echo("  feeds nothing downstream")
    else:
        limit = f" within {depth} {'hop' if depth == 1 else 'hops'}" if depth else ""
        typer.echo(f"  feeds {len(affected)} {'asset' if len(affected) == 1 else 'assets'}{limit}:")
        _print_affected(catalog, affected)
    typer.echo("page:" if page else "page: nobody (no owners or rotations found)")
    for target in page:
        typer.echo(f"  {_contact(target.name, target.email)}  {target.ref}")
        for reason in target.reasons:
            typer.echo(f"      {reason}")
    for item in not_paged:
        typer.echo(f"not paged: {item}")
    _note_errors(catalog)


def _print_affected(catalog: Catalog, affected: list[Affected]) -> None:
    rows = [
        (
            str(a.hops),
            a.type,
            a.ref,
            _owner_cell(catalog, a.ref, a.owner),
            " → ".join(_short(catalog, r) for r in a.path[1:-1]),
        )
        for a in affected
    ]
    widths = [
        max(len(row[i]) for row in [("hops", "type", "asset", "owner", ""), *rows])
        for i in range(4)
    ]
    header = ("hops", "type", "asset", "owner")
    typer.echo("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  via")
    for row in rows:
        cells = "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True))
        typer.echo(f"  {cells}  {row[4]}".rstrip())


# -- graph check / stats / import -----------------------------------------------------------------


@graph_app.command("check")
def check_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Load the catalog and report every problem; exit 1 when there are errors.

    JSON keys: ok, errors, warnings, entities, problems [{severity, file, line, entity, message}].
    """
    catalog = _catalog(ctx)
    problems = sorted(catalog.problems, key=lambda p: (p.file, p.line or 0, p.severity))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if as_json:
        _print_json(
            {
                "ok": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "entities": len(catalog.entities),
                "problems": [p.as_dict() for p in problems],
            }
        )
    else:
        for problem in problems:
            colour = typer.colors.RED if problem.severity == "error" else typer.colors.YELLOW
            typer.secho(str(problem), fg=colour)
        typer.echo(
            f"{len(catalog.entities)} entities, {catalog.edge_count} edges: "
            f"{errors} {'error' if errors == 1 else 'errors'}, "
            f"{warnings} {'warning' if warnings == 1 else 'warnings'}"
        )
    if errors:
        raise typer.Exit(1)


@graph_app.command("stats")
def stats_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Counts: entities by kind and by type, edges, rotations, errors and warnings.

    JSON keys: entities, assets, kinds {kind: n}, types {type: n}, edges, rotations, errors,
    warnings.
    """
    catalog = _catalog(ctx)
    # Counted from the entity table's columns: making an Entity of each of 1M rows to read two
    # fields took longer than loading the catalog from its cache.
    kind_column, type_column = catalog.table.column("kind"), catalog.table.column("type")
    kinds = Counter(kind_column)
    types = Counter(
        kind_type
        for kind, kind_type in zip(kind_column, type_column, strict=True)
        if kind_type and kind not in NON_ASSET_KINDS
    )
    stats: dict[str, Any] = {
        "entities": len(kind_column),
        "assets": sum(n for kind, n in kinds.items() if kind not in NON_ASSET_KINDS),
        "kinds": dict(sorted(kinds.items())),
        "types": dict(sorted(types.items())),
        "edges": catalog.edge_count,
        "rotations": len(catalog.rotations),
        "errors": len(catalog.errors),
        "warnings": len(catalog.warnings),
    }
    if as_json:
        _print_json(stats)
        return
    typer.echo(
        f"{stats['entities']} entities ({stats['assets']} assets), {stats['edges']} edges, "
        f"{_count(stats['rotations'], 'rotation')}, {_count(stats['errors'], 'error')}, "
        f"{_count(stats['warnings'], 'warning')}"
    )
    for title, counts in (("by kind", stats["kinds"]), ("by type", stats["types"])):
        typer.echo(f"{title}:")
        width = max((len(k) for k in counts), default=0)
        for key, count in counts.items():
            typer.echo(f"  {key:<{width}}  {count:>7}")


@graph_app.command("import")
def import_command(
    ctx: typer.Context,
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="Backstage YAML (.yaml/.yml) or OpenLineage events (.json/.ndjson/.jsonl).",
            exists=True,
            dir_okay=False,
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a file of the same name.")
    ] = False,
) -> None:
    """Copy catalog or lineage files into the workspace's catalog or lineage folder.

    Nothing is copied when any file has errors, holds a Location (its targets would not come
    along: copy that folder instead), or would replace a file without --force.
    """
    workspace = ctx.obj.workspace
    plan: list[tuple[Path, Path]] = []
    for source in sources:
        if source.name.endswith(LINEAGE_SUFFIXES):
            folders = workspace.lineage_paths
            what = "lineage"
        elif source.name.endswith(CATALOG_SUFFIXES):
            folders = workspace.catalog_paths
            what = "catalog"
        else:
            raise typer.BadParameter(f"{source}: not .yaml/.yml or .json/.ndjson/.jsonl")
        folder = next((p for p in folders if not p.is_file()), None)
        if folder is None:
            raise WorkspaceError(
                f"{workspace.root}: oncall.toml names no {what} folder to import into "
                f'(add {what} = ["{what}"])'
            )
        target = folder / source.name
        if target.exists() and not force:
            raise WorkspaceError(f"{target} exists (use --force to replace it)")
        plan.append((source, target))
    catalog_sources = [s for s, _ in plan if s.name.endswith(CATALOG_SUFFIXES)]
    lineage_sources = [s for s, _ in plan if s.name.endswith(LINEAGE_SUFFIXES)]
    # Checked on their own: references into the workspace are expected to dangle here.
    loaded = load_catalog(catalog_sources, lineage_sources)
    blocking = loaded.errors
    locations = [e for e in loaded.entities.values() if e.kind == "location"]
    for problem in blocking:
        typer.secho(str(problem), fg=typer.colors.RED, err=True)
    for location in locations:
        typer.echo(
            f"{location.file}:{location.line}: {location.ref} names other files; "
            "copy its folder into the catalog instead",
            err=True,
        )
    if blocking or locations:
        typer.echo("oncall: nothing imported", err=True)
        raise typer.Exit(2)
    for source, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        count = sum(1 for e in loaded.entities.values() if e.file == str(source))
        typer.echo(f"imported {source} → {target} ({count} entities)")
    typer.echo("run `oncall graph check` to see it together with the rest of the catalog")


# -- helpers --------------------------------------------------------------------------------------


def _catalog(ctx: typer.Context) -> Catalog:
    app_ctx: AppContext = ctx.obj
    return app_ctx.catalog


def _resolve(catalog: Catalog, text: str, as_json: bool) -> Entity:
    """The entity, or (with --json) an error object on stdout before exit code 2."""
    try:
        return catalog.resolve(text)
    except AssetNotFound as exc:
        if as_json:
            _print_json({"error": str(exc), "suggestions": exc.suggestions})
        raise
    except AmbiguousAsset as exc:
        if as_json:
            _print_json({"error": str(exc), "candidates": exc.candidates})
        raise


def _parse_at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-11-27T03:00:00+01:00)",
            param_hint="--at",
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _headline(entity: Entity) -> str:
    kind = entity.type or entity.kind
    title = f" — {entity.title}" if entity.title else ""
    return f"{entity.ref} ({kind}){title}"


def _named(catalog: Catalog, ref: str) -> str:
    entity = catalog.entities.get(ref)
    if entity is None:
        return f"{ref} (not in the catalog)"
    label = entity.display_name or entity.title
    return f"{ref} ({label})" if label else ref


def _owner_cell(catalog: Catalog, ref: str, owner: str | None) -> str:
    """The owner column of `impact`: never an owner for an asset defined twice, and an owner
    ref that names nothing says so."""
    if catalog.definitions(ref):
        return "? (defined twice)"
    if owner is None:
        return "-"
    if catalog.table.row(owner) is None:
        return f"{owner.rpartition('/')[2]} (not in the catalog)"
    return _short(catalog, owner)


def _short(catalog: Catalog, ref: str) -> str:
    entity = catalog.entities.get(ref)
    return entity.name if entity else ref


def _contact(name: str, email: str | None) -> str:
    return f"{name} <{email}>" if email else name


def _note_errors(catalog: Catalog) -> None:
    errors = len(catalog.errors)
    if errors:
        typer.echo(
            f"note: the catalog has {errors} {'error' if errors == 1 else 'errors'}; "
            "`oncall graph check` lists them",
            err=True,
        )


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _count(n: int, word: str) -> str:
    """`1 error`, `2 errors`."""
    return f"{n} {word}{'' if n == 1 else 's'}"
