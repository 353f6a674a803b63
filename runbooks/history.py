"""What the runs of an incident did, read from the runs table and the ledger: the one answer to
"is this runbook done for this asset?", "which runs can be resumed?" and "which runs count?".

The incident screen marks each suggested runbook ✔ done or ◐ partial for its asset, offers to
resume only runs that got somewhere, and `oncall runbook runs` words an all-skipped run as such;
all of them ask here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from incidents.ledger import LedgerEntry
from incidents.runs import FINAL_RUN_STATUSES, Run
from incidents.store import Store
from runbooks.paging import is_page_run

Progress = Literal["done", "partial"]

#: Statuses a run is finished in for good: nothing to resume.
CLOSED_RUN_STATUSES = FINAL_RUN_STATUSES


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One runbook run (never a page, never a dry run) and what its ledger holds."""

    run: Run
    steps_done: int  # ledger entries done (by oncall or by hand)
    effects: int  # effects by oncall
    entries: int  # ledger entries of any status

    @property
    def refused(self) -> bool:
        """Never got to a step: refused at the start (a lease held) or abandoned before one."""
        return self.run.status == "failed" and self.entries == 0

    @property
    def resumable(self) -> bool:
        return self.run.status not in CLOSED_RUN_STATUSES and not self.refused

    def targets(self) -> set[str]:
        """The names its parameters point at (`training-db`, or a full ref's name)."""
        return {_name(str(v)) for v in self.run.params.values() if isinstance(v, str) and v}


def run_records(store: Store, incident_id: str) -> list[RunRecord]:
    """The incident's live runbook runs, oldest first, each with its ledger counts."""
    records = []
    for run in store.list_runs(incident_id=incident_id):
        if run.dry_run or is_page_run(run):
            continue
        records.append(_record(run, store.ledger_for_run(run.id)))
    return records


def _record(run: Run, ledger: Sequence[LedgerEntry]) -> RunRecord:
    done = [e for e in ledger if e.status == "done"]
    return RunRecord(run, len(done), sum(e.effect_count for e in done), len(ledger))


def progress(records: Iterable[RunRecord], runbook_id: str, asset: str | None) -> Progress | None:
    """`done` when a run of `runbook_id` on `asset` finished; `partial` when one got somewhere
    and stopped (failed, interrupted, still running); None when none did."""
    found: Progress | None = None
    wanted = _name(asset) if asset else None
    for record in records:
        if record.run.runbook_id != runbook_id or record.refused:
            continue
        if wanted is not None and wanted not in record.targets():
            continue
        if record.run.status == "done":
            return "done"
        if record.run.status != "abandoned" and record.steps_done:
            found = "partial"
    return found


def done_by(records: Iterable[RunRecord], runbook_id: str, asset: str | None) -> RunRecord | None:
    """The latest run of `runbook_id` on `asset` that finished done, if any: starting the same
    recovery again should say so first."""
    wanted = _name(asset) if asset else None
    found = None
    for record in records:
        if record.run.runbook_id != runbook_id or record.run.status != "done":
            continue
        if wanted is None or wanted in record.targets():
            found = record
    return found


def _name(ref: str) -> str:
    return ref.rpartition("/")[2] if "/" in ref else ref.rpartition(":")[2]


def abandon_run(store: Store, run_id: str, reason: str, actor: str) -> RunRecord:
    """Give up on a run that will not be resumed: it leaves the "resume" list for good, its
    leases are released, and the timeline says who gave up, why, and what it had done.

    A run whose process is alive on this machine is refused (`RunStillActive`): stop it first.
    """
    from runbooks.errors import RunbookError
    from runbooks.leasing import RunStillActive, process_alive

    reason = reason.strip()
    if not reason:
        raise RunbookError("say why the run is abandoned (--reason TEXT): it goes on the timeline")
    run = store.get_run(run_id)
    if is_page_run(run):
        raise RunbookError(f"{run.id} is a page, not a runbook run: nothing to abandon")
    if run.status in CLOSED_RUN_STATUSES:
        raise RunbookError(f"{run.id} is {run.status} already: nothing to abandon")
    leases = store.list_leases(run.id)
    for lease in leases:
        if process_alive(lease.host):
            raise RunStillActive(
                f"{run.id} is still running here (its process, {lease.host}, is alive): stop it "
                "before abandoning it",
                run_id=run.id,
                host=lease.host,
                alive=True,
            )
    for lease in leases:
        store.release_lease(lease.asset, run.id)
    record = _record(run, store.ledger_for_run(run.id))
    store.set_run_status(run.id, "abandoned")
    if run.incident_id:
        done = f"{record.steps_done} step{'s' if record.steps_done != 1 else ''} done"
        store.append_event(
            run.incident_id,
            "decision",
            f"{actor} abandoned {run.id} ({run.runbook_id}; it was {run.status}, {done}): {reason}",
            actor,
            {"run": run.id, "runbook": run.runbook_id, "was": run.status, "reason": reason},
        )
    return _record(store.get_run(run.id), store.ledger_for_run(run.id))
