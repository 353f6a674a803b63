"""Runbook parameters: `k=v` text from the operator turned into checked, typed values.

Types: `string` (optionally matching `pattern`), `int`, `datetime` (ISO 8601; a date or a time
without zone is UTC), `asset` (resolved through the catalog, and it must be an asset the runbook
applies to), `choice`. A run stores the values as JSON (`stored`) so a resumed run re-resolves
exactly what the first process used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from graph.errors import GraphError
from runbooks.errors import RunbookError
from runbooks.schema import AppliesTo, ParamSpec, RunbookSpec
from runbooks.templating import AssetView, IsoDatetime

if TYPE_CHECKING:
    from graph.model import Catalog, Entity


class ParamError(RunbookError):
    """A parameter is unknown, missing, or its value does not fit its type."""


@dataclass
class ResolvedParams:
    """Typed values for templates, JSON values for the run record, and the assets they name."""

    values: dict[str, Any] = field(default_factory=dict)
    stored: dict[str, Any] = field(default_factory=dict)
    assets: dict[str, Entity] = field(default_factory=dict)


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """`["since=2024-06-08", "asset=training-db"]` as a dict; `k=v` only, each key once."""
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParamError(f"--param {item!r}: expected NAME=VALUE")
        if key in result:
            raise ParamError(f"--param {key} is given twice")
        result[key] = value
    return result


def resolve_params(
    spec: RunbookSpec, raw: Mapping[str, Any], catalog: Catalog | None
) -> ResolvedParams:
    """Check every given value against the runbook's parameters and coerce it to its type."""
    unknown = sorted(set(raw) - set(spec.params))
    if unknown:
        known = ", ".join(spec.params) or "none"
        raise ParamError(
            f"runbook {spec.id!r} has no parameter {', '.join(map(repr, unknown))} "
            f"(parameters: {known})"
        )
    resolved = ResolvedParams()
    missing = [n for n, p in spec.params.items() if p.required and n not in raw]
    if missing:
        hints = "; ".join(f"{n}: {_describe(spec.params[n])}" for n in missing)
        raise ParamError(f"runbook {spec.id!r} needs --param {', '.join(missing)} ({hints})")
    for name, param in spec.params.items():
        value = raw.get(name, param.default)
        if value is None:
            resolved.values[name] = None
            resolved.stored[name] = None
            continue
        applies_to = spec.applies_to if name == spec.asset_param() else None
        typed, stored, entity = coerce(name, param, value, catalog, applies_to, spec.id)
        resolved.values[name] = typed
        resolved.stored[name] = stored
        if entity is not None:
            resolved.assets[name] = entity
    return resolved


def frozen_params(
    spec: RunbookSpec, stored: Mapping[str, Any], catalog: Catalog | None
) -> ResolvedParams:
    """The params a run started with, as it stored them, for its resume: asset params are the
    canonical refs resolved at start, looked up by that exact ref (never re-resolved by name,
    never re-checked against today's `applies_to`), so no step key can change between start and
    resume. An asset gone from the catalog since keeps its ref (templates see the ref)."""
    resolved = ResolvedParams()
    for name, param in spec.params.items():
        value = stored.get(name)
        resolved.stored[name] = value
        if value is None:
            resolved.values[name] = None
        elif param.type == "asset":
            ref = str(value)
            entity = catalog.get(ref) if catalog is not None else None
            if entity is not None:
                resolved.values[name] = asset_view(entity)
                resolved.assets[name] = entity
            else:
                kind, _, rest = ref.partition(":")
                namespace, _, short = rest.rpartition("/")
                resolved.values[name] = AssetView(ref, kind, namespace or "default", short or ref)
        else:
            resolved.values[name] = coerce(name, param, value, catalog, None, spec.id)[0]
    return resolved


def coerce(
    name: str,
    param: ParamSpec,
    value: Any,
    catalog: Catalog | None,
    applies_to: AppliesTo | None = None,
    runbook_id: str = "",
) -> tuple[Any, Any, Entity | None]:
    """(template value, stored JSON value, resolved entity or None) for one parameter."""
    text = str(value).strip() if not isinstance(value, int) else value
    where = f"--param {name}={value}"
    if param.type == "int":
        try:
            number = int(text)
        except (TypeError, ValueError):
            raise ParamError(f"{where}: not an integer") from None
        return number, number, None
    if param.type == "datetime":
        moment = parse_datetime(str(text), where)
        return moment, moment.isoformat(), None
    if param.type == "choice":
        choices = param.choices or []
        if str(text) not in choices:
            raise ParamError(f"{where}: must be one of {', '.join(choices)}")
        return str(text), str(text), None
    if param.type == "asset":
        entity = _resolve_asset(str(text), catalog, where)
        if applies_to is not None and not applies(applies_to, entity):
            raise ParamError(
                f"{where}: runbook {runbook_id!r} does not apply to {entity.ref} "
                f"(type {entity.type or 'none'}); it applies to {describe_applies(applies_to)}"
            )
        return asset_view(entity), entity.ref, entity
    string = str(value)
    if param.pattern and not re.fullmatch(param.pattern, string):
        raise ParamError(f"{where}: must match {param.pattern}")
    return string, string, None


def parse_datetime(text: str, where: str) -> IsoDatetime:
    """ISO 8601 date or date-time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ParamError(
            f"{where}: not an ISO 8601 date or time (e.g. 2024-06-08 or 2024-06-08T02:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return IsoDatetime.of(moment)


def _resolve_asset(text: str, catalog: Catalog | None, where: str) -> Entity:
    if catalog is None:
        raise ParamError(f"{where}: asset parameters need the catalog, and none is loaded")
    try:
        entity = catalog.resolve(text)
    except GraphError as exc:
        raise ParamError(f"{where}: {exc}") from exc
    if entity.kind in {"group", "user", "rotation", "location"}:
        raise ParamError(f"{where}: {entity.ref} is a {entity.kind}, not an asset")
    return entity


def asset_view(entity: Entity) -> AssetView:
    return AssetView(
        ref=entity.ref,
        kind=entity.kind,
        namespace=entity.namespace,
        name=entity.name,
        title=entity.title,
        type=entity.type,
        owner=entity.owner,
        tags=tuple(entity.tags),
    )


def applies(applies_to: AppliesTo, entity: Entity) -> bool:
    """Whether a runbook is for this asset: any listed type, tag or ref matches (none listed:
    every asset). Refs compare as canonical refs or bare names, case-insensitively."""
    if applies_to.is_empty():
        return True
    if entity.type and entity.type.lower() in {t.lower() for t in applies_to.types}:
        return True
    if {t.lower() for t in entity.tags} & {t.lower() for t in applies_to.tags}:
        return True
    for ref in applies_to.refs:
        wanted = ref.lower()
        if wanted in (entity.ref, entity.name.lower(), f"{entity.namespace}/{entity.name}"):
            return True
    return False


def describe_applies(applies_to: AppliesTo) -> str:
    parts = []
    if applies_to.types:
        parts.append("types " + ", ".join(applies_to.types))
    if applies_to.tags:
        parts.append("tags " + ", ".join(applies_to.tags))
    if applies_to.refs:
        parts.append("assets " + ", ".join(applies_to.refs))
    return "; ".join(parts) or "any asset"


def _describe(param: ParamSpec) -> str:
    text = param.type
    if param.choices:
        text += f" of {'/'.join(param.choices)}"
    if param.help:
        text += f", {param.help}"
    return text
