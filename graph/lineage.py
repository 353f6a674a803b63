"""OpenLineage RunEvents (a JSON array, NDJSON, or one event) as datasets, jobs and data flow.

Each event adds `input dataset → job → output dataset`. Jobs and datasets become entities of kind
`job` and `dataset`, with the refs `dataset:<namespace>/<name>` and `job:<namespace>/<name>` that
`graph.olnames` builds: lower case, with upper-case letters, `%`, whitespace, characters outside
printable ASCII and (in the namespace) everything but letters, digits and `-_.~` percent-encoded,
so names keep their case (`lineage_ref`, `lineage_parts`; the exact list is in `graph.olnames`).

A DatasetEvent (OpenLineage 2: a `dataset`, no run) adds the dataset; a JobEvent (a `job` with
its static `inputs` and `outputs`, no run) adds the job and its edges.

The `ownership` facet (job or dataset) names the owner: `team:x` and `group:x` mean
`group:default/x`, `user:x` means `user:default/x`, a bare name is a group. A facet that is not
`{"owners": [{"name": …}, …]}` is a warning at its file and line, not a silent "no owner".
Event times that are template placeholders such as `{{RUN_START_TIME}}` are accepted as unknown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from graph.builder import LINEAGE_ORIGIN, CatalogBuilder
from graph.edges import WHOLE_TEXT
from graph.olnames import lineage_parts, lineage_ref
from graph.records import Entity
from graph.refs import RefError, ref_for_field
from graph.schema import LineageDataset, LineageJob, RunEvent, error_locations

__all__ = ["lineage_parts", "lineage_ref", "read_lineage_text"]

PLACEHOLDER = re.compile(r"\{\{.*\}\}")
OWNER_KIND_ALIASES = {"team": "group", "group": "group", "user": "user"}


def parse_event_time(value: str | None) -> datetime | None:
    """The event time, or None when unknown (absent, a template placeholder, or unparseable)."""
    if not value or PLACEHOLDER.fullmatch(value.strip()):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


NDJSON_SUFFIXES = (".ndjson", ".jsonl")


def read_lineage_text(text: str, file: str, builder: CatalogBuilder) -> None:
    """Add every RunEvent in `text` to the builder; malformed JSON is an error at its line.

    In NDJSON (`.ndjson`, `.jsonl`) each line stands alone, so a broken line is reported and the
    lines after it still load; in a JSON document the first syntax error ends the file.
    """
    if file.endswith(NDJSON_SUFFIXES):
        _read_ndjson(text, file, builder)
        return
    try:
        for value, line in iter_json_values(text):
            if isinstance(value, list):
                builder.problem("error", file, line, None, "nested JSON array: expected RunEvents")
                continue
            _read_event(value, line, file, builder)
    except json.JSONDecodeError as exc:
        builder.problem("error", file, exc.lineno, None, f"malformed JSON: {exc.msg}")


def _read_ndjson(text: str, file: str, builder: CatalogBuilder) -> None:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            builder.problem(
                "error", file, number, None, f"malformed JSON: {exc.msg} (column {exc.colno})"
            )
            continue
        _read_event(value, number, file, builder)


def iter_json_values(text: str) -> Iterator[tuple[Any, int]]:
    """Top-level values (or the elements of one top-level array) with their starting lines.

    Reads a JSON array, NDJSON, or values simply one after another, in one linear pass.
    """
    decoder = json.JSONDecoder()
    length = len(text)
    pos = _skip_ws(text, 0)
    line, counted = 1, 0

    def line_at(index: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, index)
        counted = index
        return line

    in_array = pos < length and text[pos] == "["
    if in_array:
        pos = _skip_ws(text, pos + 1)
        if pos < length and text[pos] == "]":
            return
    while pos < length:
        value, end = decoder.raw_decode(text, pos)
        yield value, line_at(pos)
        pos = _skip_ws(text, end)
        if not in_array:
            continue
        if pos < length and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        elif pos < length and text[pos] == "]":
            rest = _skip_ws(text, pos + 1)
            if rest < length:
                raise json.JSONDecodeError("unexpected data after the array", text, rest)
            return
        else:
            raise json.JSONDecodeError("expected ',' or ']' between events", text, pos)
    if in_array:
        raise json.JSONDecodeError("the array is not closed", text, length)


_WS = re.compile(r"[ \t\n\r]*")


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _read_event(value: Any, line: int, file: str, builder: CatalogBuilder) -> None:
    if not isinstance(value, dict):
        builder.problem("error", file, line, None, "a RunEvent must be a JSON object")
        return
    if "run" not in value and "dataset" in value and "job" not in value:
        _read_dataset_event(value["dataset"], line, file, builder)
        return
    try:
        event = RunEvent.model_validate(value)
    except ValidationError as exc:
        for loc, message in error_locations(exc):
            where = ".".join(str(p) for p in loc)
            builder.problem("error", file, line, None, f"RunEvent {where}: {message}")
        return
    time_text = (event.eventTime or "").strip()
    if time_text and not PLACEHOLDER.fullmatch(time_text) and parse_event_time(time_text) is None:
        builder.problem(
            "warning", file, line, None, f"eventTime {event.eventTime!r} is not ISO 8601: unknown"
        )
    job = _node(event.job, "job", line, file, builder)
    if event.run.runId:
        note = f"{WHOLE_TEXT}{LINEAGE_ORIGIN} run {event.run.runId}"
    else:  # a JobEvent: the job's static inputs and outputs
        note = f"{WHOLE_TEXT}{LINEAGE_ORIGIN} job"
    for dataset in event.inputs:
        builder.add_edge(_node(dataset, "dataset", line, file, builder), job, file, line, note)
    for dataset in event.outputs:
        builder.add_edge(job, _node(dataset, "dataset", line, file, builder), file, line, note)


def _read_dataset_event(value: Any, line: int, file: str, builder: CatalogBuilder) -> None:
    """A DatasetEvent: the dataset (and its facets, such as ownership), no data flow."""
    try:
        dataset = LineageDataset.model_validate(value)
    except ValidationError as exc:
        for loc, message in error_locations(exc):
            where = ".".join(str(p) for p in ("dataset", *loc))
            builder.problem("error", file, line, None, f"DatasetEvent {where}: {message}")
        return
    _node(dataset, "dataset", line, file, builder)


def _node(
    item: LineageJob | LineageDataset, kind: str, line: int, file: str, builder: CatalogBuilder
) -> str:
    """The ref of a job or dataset, creating its entity or filling in what an earlier event lacked."""
    ref = lineage_ref(kind, item.namespace, item.name)
    entity = builder.entities.get(ref)
    if entity is None:
        entity = Entity(
            ref=ref,
            kind=kind,
            namespace=item.namespace,
            name=item.name,
            type=_job_type(item.facets) if kind == "job" else "dataset",
            file=file,
            line=line,
        )
        builder.add_entity(entity)
    facets = item.facets
    if entity.description is None:
        documentation = facets.get("documentation")
        if isinstance(documentation, dict) and isinstance(documentation.get("description"), str):
            entity.description = documentation["description"]
    if entity.owner is None:
        owner = _owner(facets.get("ownership"), ref, line, file, builder)
        if owner:
            entity.owner = owner
            builder.expect_all([(ref, "owner", owner, file, line, None)])
    return ref


def _job_type(facets: dict[str, Any]) -> str:
    job_type = facets.get("jobType")
    if isinstance(job_type, dict) and isinstance(job_type.get("jobType"), str):
        return job_type["jobType"].lower()
    return "job"


def _owner(facet: Any, ref: str, line: int, file: str, builder: CatalogBuilder) -> str | None:
    if facet is None:
        return None
    if not isinstance(facet, dict) or not isinstance(facet.get("owners"), list):
        builder.problem(
            "warning",
            file,
            line,
            ref,
            'ownership facet is malformed: expected {"owners": [{"name": "team:x"}, …]}',
        )
        return None
    for number, owner in enumerate(facet["owners"]):
        name = owner.get("name") if isinstance(owner, dict) else None
        if not isinstance(name, str):
            builder.problem(
                "warning", file, line, ref, f"ownership facet: owners[{number}] has no name"
            )
            continue
        kind, sep, rest = name.partition(":")
        if sep and kind.lower() in OWNER_KIND_ALIASES:
            name = f"{OWNER_KIND_ALIASES[kind.lower()]}:{rest}"
        try:
            return ref_for_field(name, "owner")
        except RefError as exc:
            builder.problem("warning", file, line, ref, f"ownership facet: {exc}")
    return None
