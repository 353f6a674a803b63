"""Recording the workspace's `lineage/` files as run history in the store.

The same files feed the catalog (what *can* feed what, `graph.loader`) and the store's run
history (what *did*, `incidents.run_history`). The catalog is rebuilt from the files on every
load; run history is kept, so it is brought up to date from the files before anything reads it:
`oncall contamination`, `oncall plan`, `oncall recover` and the app's incident screen call
`import_lineage` first. A file whose content the store has already recorded (by SHA-256) is not
parsed again, and recording is idempotent by run id + event type + event time, so importing the
same files any number of times, from any number of processes, stores each event once.

A malformed event is reported (file and line) and skipped; the file's other events are recorded.
The intake endpoint records events it receives directly with `Store.record_lineage_events`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.lineage import NDJSON_SUFFIXES, iter_json_values
from graph.loader import LINEAGE_SUFFIXES
from incidents.run_history import file_digest, lineage_event_problem
from incidents.store import Store


@dataclass
class ImportReport:
    """What one import did: files read, files unchanged since the last import, new events."""

    read: int = 0
    unchanged: int = 0
    new_events: int = 0
    problems: list[str] = field(default_factory=list)


def import_lineage(store: Store, paths: Sequence[Path]) -> ImportReport:
    """Record the RunEvents of every lineage file under `paths` that changed since last time."""
    report = ImportReport()
    for path in lineage_files(paths):
        try:
            data = path.read_bytes()
        except OSError as exc:
            report.problems.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        digest = file_digest(data)
        key = str(path.resolve())
        if store.lineage_source_digest(key) == digest:
            report.unchanged += 1
            continue
        report.read += 1
        events: list[Any] = []
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            report.problems.append(f"{path}: not UTF-8 text")
            continue
        for line, value in _values(text, str(path), report.problems):
            problem = lineage_event_problem(value)
            if problem is None:
                events.append(value)
            else:
                report.problems.append(f"{path}:{line}: not recorded as run history: {problem}")
        report.new_events += store.record_lineage_events(events, source=key)
        store.mark_lineage_source(key, digest, len(events))
    return report


def lineage_files(paths: Sequence[Path]) -> list[Path]:
    """The files the catalog reads as lineage: given files, and in directories every
    `*.json`, `*.ndjson`, `*.jsonl`, in a stable order."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in LINEAGE_SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
    return found


def _values(text: str, file: str, problems: list[str]) -> Iterator[tuple[int, Any]]:
    if file.endswith(NDJSON_SUFFIXES):
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                yield number, json.loads(raw)
            except json.JSONDecodeError as exc:
                problems.append(f"{file}:{number}: malformed JSON: {exc.msg}")
        return
    try:
        for value, line in iter_json_values(text):
            if isinstance(value, list):
                problems.append(f"{file}:{line}: nested JSON array: expected RunEvents")
                continue
            yield line, value
    except json.JSONDecodeError as exc:
        problems.append(f"{file}:{exc.lineno}: malformed JSON: {exc.msg}")
