"""Reading Backstage descriptors (and our `oncall/v1` Rotation) into the catalog builder.

One document at a time: validate, turn references canonical, and hand the entity to the builder
with the references it makes; whether those exist is checked once everything is read. A document
that is wrong in itself (bad name, wrong types) is reported and left out; a wrong reference is
reported and only that reference is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from yaml.nodes import SequenceNode

from graph.builder import CatalogBuilder, Expectation, Flow
from graph.records import Entity, EscalationStep, Override, Rotation
from graph.refs import RefError, canonical_ref, name_problem, ref_for_field, tag_problem
from graph.schema import (
    WEEKDAYS,
    Descriptor,
    RotationDescriptor,
    Spec,
    delay_minutes,
    error_locations,
    length_days,
)
from graph.yamldocs import Lines

BACKSTAGE_KINDS: frozenset[str] = frozenset(
    {"component", "resource", "system", "domain", "api", "group", "user", "location"}
)
ONCALL_API_VERSION = "oncall/v1"
MODELLED_SPEC_FIELDS: frozenset[str] = frozenset(Spec.model_fields)

# Single-valued reference fields of the spec, and list-valued ones with their data-flow direction.
SINGLE_REF_FIELDS: tuple[str, ...] = (
    "owner",
    "system",
    "domain",
    "parent",
    "subcomponentOf",
    "subdomainOf",
)
LIST_REF_FIELDS: tuple[tuple[str, Flow | None], ...] = (
    ("dependsOn", "in"),
    ("dependencyOf", "out"),
    ("providesApis", "out"),
    ("consumesApis", "in"),
    ("children", None),
    ("members", None),
    ("memberOf", None),
)


@dataclass(frozen=True, slots=True)
class LocationTarget:
    """A Location's target as written, with the line it sits on (for a missing-target error)."""

    target: str
    line: int
    location: str


def read_document(
    data: Any, lines: Lines, file: str, builder: CatalogBuilder, *, strict: bool = True
) -> list[LocationTarget]:
    """Add one YAML document to the builder; returns the Location targets it names.

    `strict` is False for files found by scanning a directory: there a document that has
    neither `apiVersion` nor `kind` is some other YAML (an OpenAPI file) and is skipped quietly.
    """
    line = lines.start
    if not isinstance(data, dict):
        builder.problem("error", file, line, None, "document is not a mapping of fields")
        return []
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if api_version is None and kind is None and not strict:
        return []
    if not isinstance(api_version, str) or not isinstance(kind, str):
        missing = "apiVersion" if not isinstance(api_version, str) else "kind"
        builder.problem(
            "error", file, lines.at(missing), None, f"{missing} is missing or not a string"
        )
        return []
    kind_lower = kind.lower()
    if kind_lower == "rotation" and api_version == ONCALL_API_VERSION:
        _read_rotation(data, lines, file, builder)
        return []
    if kind_lower in BACKSTAGE_KINDS and api_version.startswith("backstage.io/"):
        return _read_backstage(data, lines, file, builder)
    builder.problem(
        "warning",
        file,
        lines.at("kind"),
        _raw_ref(data, kind_lower),
        f"unknown kind {kind!r} (apiVersion {api_version}): skipped",
    )
    return []


def _read_backstage(
    data: dict[str, Any], lines: Lines, file: str, builder: CatalogBuilder
) -> list[LocationTarget]:
    kind = builder.share(str(data["kind"]).lower())
    raw_ref = _raw_ref(data, kind)
    try:
        doc = Descriptor.model_validate(data)
    except ValidationError as exc:
        _report_validation(exc, lines, file, raw_ref, builder)
        return []
    meta = doc.metadata
    valid = _valid_identity(meta.name, meta.namespace, lines, file, raw_ref, builder)
    tags = []
    for i, tag in enumerate(meta.tags):
        problem = tag_problem(tag)
        if problem:
            builder.problem("error", file, lines.at("metadata", "tags", i), raw_ref, problem)
        else:
            tags.append(tag)
    if not valid:
        return []
    ref = canonical_ref(kind, meta.namespace, meta.name)
    spec = doc.spec
    pending: list[Expectation] = []
    refs = _references(spec, ref, meta.namespace, lines, file, builder, pending)
    profile = spec.profile
    entity = Entity(
        ref=ref,
        kind=kind,
        namespace=meta.namespace,
        name=meta.name,
        title=meta.title,
        description=meta.description,
        type=spec.type,
        owner=refs.get("owner"),  # type: ignore[arg-type]
        tags=tuple(tags),
        file=file,
        line=lines.entity_line(),
        spec=_custom_fields(data.get("spec")),
        alert_selector=_alert_selector(data.get("metadata")),
        system=refs.get("system"),  # type: ignore[arg-type]
        lifecycle=spec.lifecycle,
        email=profile.email if profile else None,
        display_name=profile.displayName if profile else None,
        member_of=tuple(refs.get("memberOf", ())),
        members=tuple(refs.get("members", ())),
        parent=refs.get("parent"),  # type: ignore[arg-type]
        children=tuple(refs.get("children", ())),
    )
    if not builder.add_entity(entity):
        return []
    builder.expect_all(pending)
    if kind != "location":
        return []
    return _location_targets(spec.target, spec.targets, lines, file, ref, builder)


def _references(
    spec: Any,
    ref: str,
    namespace: str,
    lines: Lines,
    file: str,
    builder: CatalogBuilder,
    pending: list[Expectation],
) -> dict[str, str | list[str]]:
    """Canonical refs per field; each goes to `pending` for an existence check (and an edge)."""
    found: dict[str, str | list[str]] = {}
    fields = lines.fields("spec")  # the spec's value nodes by key, found once per document
    spec_line = lines.at("spec")
    for field in SINGLE_REF_FIELDS:
        value = getattr(spec, field)
        if value is None:
            continue
        node = fields.get(field)
        line = node.start_mark.line + 1 if node is not None else spec_line
        try:
            target = builder.ref_for_field(value, field, namespace)
        except RefError as exc:
            builder.problem("error", file, line, ref, f"spec.{field}: {exc}")
            continue
        found[field] = target
        pending.append((ref, field, target, file, line, None))
    for field, flow in LIST_REF_FIELDS:
        values = getattr(spec, field)
        if not values:
            continue
        node = fields.get(field)
        items = node.value if isinstance(node, SequenceNode) else []
        list_line = node.start_mark.line + 1 if node is not None else spec_line
        targets = []
        for i, value in enumerate(values):
            line = items[i].start_mark.line + 1 if i < len(items) else list_line
            try:
                target = builder.ref_for_field(value, field, namespace)
            except RefError as exc:
                builder.problem("error", file, line, ref, f"spec.{field}: {exc}")
                continue
            targets.append(target)
            pending.append((ref, field, target, file, line, flow))
        found[field] = targets
    return found


def _location_targets(
    target: str | None,
    targets: list[str],
    lines: Lines,
    file: str,
    ref: str,
    builder: CatalogBuilder,
) -> list[LocationTarget]:
    found = []
    listed = [(target, lines.at("spec", "target"))] if target else []
    listed += [(t, lines.at("spec", "targets", i)) for i, t in enumerate(targets)]
    for value, line in listed:
        if "://" in value:
            builder.problem("warning", file, line, ref, f"remote target {value} is not followed")
            continue
        found.append(LocationTarget(value, line, ref))
    if not listed:
        builder.problem("warning", file, lines.at("spec"), ref, "Location has no targets")
    return found


def _read_rotation(data: dict[str, Any], lines: Lines, file: str, builder: CatalogBuilder) -> None:
    raw_ref = _raw_ref(data, "rotation")
    try:
        doc = RotationDescriptor.model_validate(data)
    except ValidationError as exc:
        _report_validation(exc, lines, file, raw_ref, builder)
        return
    meta, spec = doc.metadata, doc.spec
    if not _valid_identity(meta.name, meta.namespace, lines, file, raw_ref, builder):
        return
    ref = canonical_ref("rotation", meta.namespace, meta.name)
    zone = ZoneInfo(spec.timezone)
    ok = True
    pending: list[Expectation] = []

    def resolve(value: str, field: str, *path: str | int) -> str | None:
        nonlocal ok
        line = lines.at("spec", *path)
        try:
            target = ref_for_field(value, field, meta.namespace)
        except RefError as exc:
            builder.problem("error", file, line, ref, f"spec.{'.'.join(map(str, path))}: {exc}")
            ok = False
            return None
        pending.append((ref, field, target, file, line, None))
        return target

    owner = resolve(spec.owner, "owner", "owner")
    members = tuple(
        m for i, value in enumerate(spec.members) if (m := resolve(value, "members", "members", i))
    )
    overrides = []
    for i, item in enumerate(spec.overrides):
        user = resolve(item.user, "user", "overrides", i, "user")
        start, end = _aware(item.start, zone), _aware(item.end, zone)
        if end <= start:
            builder.problem(
                "error",
                file,
                lines.at("spec", "overrides", i),
                ref,
                "override ends before it starts",
            )
            ok = False
        elif user:
            overrides.append(Override(user, start, end))
    escalation = []
    for i, step in enumerate(spec.escalation):
        target = resolve(step.ref, "escalation", "escalation", i, "ref")
        if target:
            escalation.append(EscalationStep(target, delay_minutes(step.delay)))
    if not ok:
        return
    hours, minutes = (int(part) for part in spec.handoff.time.split(":"))
    entity = Entity(
        ref=ref,
        kind="rotation",
        namespace=meta.namespace,
        name=meta.name,
        title=meta.title,
        description=meta.description,
        type="rotation",
        owner=owner,
        tags=tuple(t for t in meta.tags if isinstance(t, str)),
        file=file,
        line=lines.entity_line(),
        spec=data.get("spec") or {},
    )
    if not builder.add_entity(entity):
        return
    builder.expect_all(pending)
    builder.add_rotation(
        Rotation(
            ref=ref,
            owner=owner,
            timezone=spec.timezone,
            handoff_weekday=WEEKDAYS.index(spec.handoff.weekday) if spec.handoff.weekday else None,
            handoff_time=time(hours, minutes),
            length_days=length_days(spec.length),
            start=(spec.start.isoformat() if spec.start else "2024-01-01"),
            members=members,
            overrides=tuple(sorted(overrides, key=lambda o: o.start)),
            escalation=tuple(escalation),
        )
    )


ALERT_SELECTOR_ANNOTATION = "oncall/alert-selector"


def _alert_selector(metadata: Any) -> str | None:
    """The `oncall/alert-selector` annotation, the one annotation oncall reads (as text)."""
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if not isinstance(annotations, dict):
        return None
    value = annotations.get(ALERT_SELECTOR_ANNOTATION)
    return str(value).strip() or None if value is not None else None


def _custom_fields(spec: Any) -> dict[str, Any]:
    """The spec fields oncall does not model: the modelled ones are already the entity's own
    fields, and keeping every raw spec twice would cost hundreds of MB at 1M entities."""
    if not isinstance(spec, dict):
        return {}
    return {key: value for key, value in spec.items() if key not in MODELLED_SPEC_FIELDS}


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    """A time written without an offset is the rotation's local time."""
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _valid_identity(
    name: str, namespace: str, lines: Lines, file: str, raw_ref: str | None, builder: CatalogBuilder
) -> bool:
    ok = True
    for value, what, path in ((name, "name", "name"), (namespace, "namespace", "namespace")):
        problem = name_problem(value, what)
        if problem:
            builder.problem("error", file, lines.at("metadata", path), raw_ref, problem)
            ok = False
    return ok


def _report_validation(
    exc: ValidationError, lines: Lines, file: str, raw_ref: str | None, builder: CatalogBuilder
) -> None:
    for loc, message in error_locations(exc):
        where = ".".join(str(p) for p in loc)
        builder.problem("error", file, lines.at(*loc), raw_ref, f"{where}: {message}")


def _raw_ref(data: dict[str, Any], kind: str) -> str | None:
    """A best-effort ref for naming an entity in a problem before it is validated."""
    meta = data.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return None
    namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else "default"
    return f"{kind}:{namespace}/{meta['name']}".lower()
