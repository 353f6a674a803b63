"""What consumed the bad data: run-level contamination over plain run records (no I/O, no clock).

The catalog answers "what *can* be fed by this asset" (`queries.blast_radius`); run history
answers "what *did* read it while it was bad". Given an asset bad from `since` (and repaired at
`until`, if given), the runs are replayed in time order:

- a run *reads* its inputs at its START (or first event) time; it is contaminated when one of its
  inputs was bad at that moment (at or after the time it became bad, before it was repaired);
- a run *writes* its outputs when it ends: COMPLETE, or FAIL/ABORT, which is a partial write and
  just as bad; a contaminated run that never ended is taken to have written at its last event;
- an output a contaminated run wrote is bad from that moment, transitively; a later clean,
  COMPLETE write of it repairs it (the source asset itself is repaired only by `until`).

Every asset downstream in the catalog that no contaminated run wrote is reported as clean, with
the reason read off the history ("last written … by run …, before the window").

Run records come from the store (`incidents.run_history.RunRecord`) but this module only needs
their shape (`RunLike`), so `graph` keeps importing nothing of ours. Datasets are mapped to
catalog entities by `DatasetNames` (see there).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from graph.errors import AmbiguousAsset, AssetNotFound, GraphError
from graph.gcpause import paused_gc
from graph.model import Catalog
from graph.olnames import lineage_ref
from graph.queries import blast_radius

BACKSTAGE_NAMESPACE = "backstage"
"""An OpenLineage dataset or job in this namespace names a catalog entity by its Backstage ref
(`resource:default/training-db`): how run history from tools that know the Backstage catalog (and
the demo's) lands on the catalog's own assets rather than on new `dataset:` entities."""


class ContaminationError(GraphError):
    """The question cannot be asked as given (a window that ends before it starts, an unknown
    run); one line for the operator."""


class DatasetLike(Protocol):
    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str | None: ...


class RunLike(Protocol):
    """What the analysis reads of a run (`incidents.run_history.RunRecord` has it)."""

    @property
    def run_id(self) -> str: ...
    @property
    def job_namespace(self) -> str: ...
    @property
    def job_name(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def read_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def last_event_at(self) -> datetime: ...
    @property
    def inputs(self) -> Sequence[DatasetLike]: ...
    @property
    def outputs(self) -> Sequence[DatasetLike]: ...


class DatasetNames:
    """OpenLineage (namespace, name) → the catalog ref it is, remembered per pair.

    The dataset's own ref (`dataset:<namespace>/<name>`, as the catalog's lineage reader makes
    it) when the catalog has it; in the `backstage` namespace, the entity the name resolves to;
    otherwise still the dataset's own ref, an asset the catalog does not know.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._known: dict[tuple[str, str, str], str] = {}

    def ref(self, kind: str, namespace: str, name: str) -> str:
        key = (kind, namespace, name)
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = self._lookup(kind, namespace, name)
        return found

    def _lookup(self, kind: str, namespace: str, name: str) -> str:
        own = lineage_ref(kind, namespace, name)
        if own in self.catalog.entities:
            return own
        if namespace == BACKSTAGE_NAMESPACE:
            try:
                return self.catalog.resolve(name).ref
            except (AssetNotFound, AmbiguousAsset):
                return own
        return own


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run as the report shows it."""

    run_id: str
    job: str
    started_at: datetime
    ended_at: datetime | None
    state: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "job": self.job,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at) if self.ended_at else None,
            "state": self.state,
        }


@dataclass(slots=True)
class ContaminatedAsset:
    """An asset that held bad data from `bad_from`: the source, or one a contaminated run wrote."""

    ref: str
    hops: int
    path: list[str]
    bad_from: datetime
    owner: str | None
    runs: list[RunSummary] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "hops": self.hops,
            "path": self.path,
            "bad_from": _iso(self.bad_from),
            "owner": self.owner,
            "runs": [r.as_dict() for r in self.runs],
            "versions": self.versions,
        }


@dataclass(frozen=True, slots=True)
class CleanAsset:
    """Downstream in the catalog, but no contaminated run wrote it; `reason` says how we know."""

    ref: str
    hops: int
    owner: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "hops": self.hops, "owner": self.owner, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Contamination:
    asset: str
    since: datetime
    until: datetime | None
    contaminated: list[ContaminatedAsset]
    clean: list[CleanAsset]

    @property
    def contaminated_refs(self) -> list[str]:
        return [c.ref for c in self.contaminated]

    def as_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "since": _iso(self.since),
            "until": _iso(self.until) if self.until else None,
            "contaminated": [c.as_dict() for c in self.contaminated],
            "clean": [c.as_dict() for c in self.clean],
        }


_WRITE, _READ, _LATE_WRITE = 0, 1, 2


def contamination(
    catalog: Catalog,
    runs: Iterable[RunLike],
    asset: str,
    since: datetime,
    until: datetime | None = None,
) -> Contamination:
    """What read `asset` (a canonical ref) while it was bad, and what that made bad, in order.

    Only runs with an event at or after `since` can be tainted or repair anything; of the
    others only the last write of each dataset counts (for the clean list's reasons), which is
    what `Store.contamination_runs(since)` returns: the answer is the same as over every run.
    """
    check_window(since, until)
    with paused_gc():  # 100k runs make 200k timeline entries, none of them in a cycle
        return _replay(catalog, runs, asset, since, until)


def check_window(since: datetime, until: datetime | None) -> None:
    """Refuse a window that ends before it starts (before any history is read for it)."""
    if until is not None and until < since:
        raise ContaminationError(
            f"the window ends {_text_time(until)} before it starts ({_text_time(since)}): "
            "--until must not precede --since"
        )


def _replay(
    catalog: Catalog,
    runs: Iterable[RunLike],
    asset: str,
    since: datetime,
    until: datetime | None,
) -> Contamination:
    names = DatasetNames(catalog)
    source = asset
    timeline: list[tuple[datetime, int, int, RunLike]] = []
    for number, run in enumerate(runs):
        read = run.read_at
        timeline.append((read, _READ, number, run))
        wrote = run.ended_at or run.last_event_at
        timeline.append((wrote, _WRITE if read < wrote else _LATE_WRITE, number, run))
    timeline.sort()  # by time, step, then position: positions differ, runs are never compared

    source_entry = ContaminatedAsset(source, 0, [source], since, _owner(catalog, source))
    entries: dict[str, ContaminatedAsset] = {source: source_entry}
    bad_now: dict[str, ContaminatedAsset] = {}
    tainted: dict[str, ContaminatedAsset] = {}  # run id → the input entry that tainted it
    last_write: dict[str, tuple[datetime, RunLike]] = {}

    for at, step, _number, run in timeline:
        if step == _READ:
            culprit = None
            for dataset in run.inputs:
                ref = names.ref("dataset", dataset.namespace, dataset.name)
                if ref == source:
                    entry = source_entry if _inside(at, since, until) else None
                else:
                    entry = bad_now.get(ref)
                if entry is not None and (culprit is None or entry.hops < culprit.hops):
                    culprit = entry
            if culprit is not None:
                tainted[run.run_id] = culprit
            continue
        ended = run.ended_at is not None
        culprit = tainted.get(run.run_id)
        for dataset in run.outputs:
            ref = names.ref("dataset", dataset.namespace, dataset.name)
            if ended:
                last_write[ref] = (at, run)
            if ref == source:
                if ended and _inside(at, since, until):
                    _add_run(source_entry, run, names, dataset.version)
                continue
            if culprit is not None:
                entry = entries.get(ref)
                if entry is None:
                    entry = entries[ref] = ContaminatedAsset(
                        ref, culprit.hops + 1, [*culprit.path, ref], at, _owner(catalog, ref)
                    )
                elif culprit.hops + 1 < entry.hops:
                    entry.hops, entry.path = culprit.hops + 1, [*culprit.path, ref]
                _add_run(entry, run, names, dataset.version)
                bad_now[ref] = entry
            elif run.state == "COMPLETE" and ref in bad_now:
                del bad_now[ref]  # rewritten whole by a run that read nothing bad

    contaminated = sorted(entries.values(), key=lambda e: (e.bad_from, e.hops, e.ref))
    return Contamination(
        asset=source,
        since=since,
        until=until,
        contaminated=contaminated,
        clean=_clean(catalog, source, entries, last_write, since),
    )


def _clean(
    catalog: Catalog,
    source: str,
    entries: dict[str, ContaminatedAsset],
    last_write: dict[str, tuple[datetime, RunLike]],
    since: datetime,
) -> list[CleanAsset]:
    if source not in catalog.entities:
        return []
    clean = []
    for affected in blast_radius(catalog, source):
        if affected.ref in entries:
            continue
        written = last_write.get(affected.ref)
        if written is None:
            reason = "no recorded run wrote it"
        else:
            at, run = written
            when = "before the window" if at < since else "and it read nothing bad"
            reason = f"last written {_text_time(at)} by run {run.run_id}, {when}"
        clean.append(CleanAsset(affected.ref, affected.hops, affected.owner, reason))
    return clean


def _add_run(
    entry: ContaminatedAsset, run: RunLike, names: DatasetNames, version: str | None
) -> None:
    if not entry.runs or entry.runs[-1].run_id != run.run_id:
        entry.runs.append(
            RunSummary(
                run.run_id,
                names.ref("job", run.job_namespace, run.job_name),
                run.read_at,
                run.ended_at,
                run.state,
            )
        )
    if version is not None and version not in entry.versions:
        entry.versions.append(version)


def _inside(at: datetime, since: datetime, until: datetime | None) -> bool:
    return since <= at and (until is None or at < until)


def _owner(catalog: Catalog, ref: str) -> str | None:
    entity = catalog.entities.get(ref)
    return entity.owner if entity is not None else None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text_time(value: datetime) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def bad_window_of_run(runs: Iterable[RunLike], run_id: str) -> tuple[RunLike, datetime]:
    """The run that wrote the bad data and the moment its output became bad (its end, or its
    last event when it never ended)."""
    for run in runs:
        if run.run_id == run_id:
            return run, run.ended_at or run.last_event_at
    raise ContaminationError(f"no run {run_id!r} in the run history")
