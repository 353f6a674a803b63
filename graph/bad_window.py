"""The bad window of a contamination question, as an operator gives it: an asset and the time it
went bad (`--since`, and `--until` when it was repaired), or the run that wrote the bad data
(`--run`). Pure: the CLI, the plan and the app ask it the same way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from graph.contamination import (
    Contamination,
    ContaminationError,
    DatasetNames,
    RunLike,
    bad_window_of_run,
    check_window,
    contamination,
)
from graph.model import Catalog


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time (a trailing Z, or no offset, is UTC); `option` names it in the error."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ContaminationError(
            f"{option} {text!r} is not an ISO 8601 time (e.g. 2026-12-02T02:00:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class RunHistory(Protocol):
    """Where the runs come from (`incidents.store.Store` is one): only what the analysis of a
    window needs is read, so a question about the last day of a year of history stays fast."""

    def lineage_run(self, run_id: str) -> RunLike | None: ...

    def contamination_runs(self, since: datetime) -> Sequence[RunLike]: ...


def analyse(
    catalog: Catalog,
    history: RunHistory,
    asset: str | None,
    since: str | None,
    until: str | None,
    run_id: str | None,
) -> Contamination:
    """The analysis for the window given as ASSET with since/until, or as the bad run, over
    only the runs of the history that can matter to that window."""
    repaired = parse_time(until, "--until") if until is not None else None
    if run_id is not None:
        if since is not None:
            raise ContaminationError("give either --run or --since, not both")
        found = history.lineage_run(run_id)
        run, start = bad_window_of_run([found] if found is not None else [], run_id)
        ref = written_by(catalog, run, asset)
    else:
        if asset is None or since is None:
            raise ContaminationError("give ASSET and --since (or --run RUN_ID)")
        ref = catalog.resolve(asset).ref
        start = parse_time(since, "--since")
    check_window(start, repaired)  # before reading any history
    return contamination(catalog, history.contamination_runs(start), ref, start, repaired)


def written_by(catalog: Catalog, run: RunLike, asset: str | None) -> str:
    """The asset the bad run wrote: `asset` when given (it must be one of its outputs), else its
    only output."""
    names = DatasetNames(catalog)
    outputs = [names.ref("dataset", d.namespace, d.name) for d in run.outputs]
    if asset is not None:
        ref = catalog.resolve(asset).ref
        if ref not in outputs:
            raise ContaminationError(f"run {run.run_id} did not write {ref}")
        return ref
    if len(outputs) != 1:
        listed = ", ".join(outputs) or "nothing"
        raise ContaminationError(
            f"run {run.run_id} wrote {listed}: name the bad asset (oncall contamination ASSET --run …)"
        )
    return outputs[0]
