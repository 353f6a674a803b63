"""What is still open on an incident before someone marks it mitigated or resolved.

Closing an incident while a recovery is half done, or while a run still holds a lease, leaves
the next person believing the harm is over. The app asks before a status change and names
these; the CLI can say the same thing from the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from incidents.leases import Lease
from incidents.runs import Run
from incidents.store import Store
from runbooks.history import run_records

if TYPE_CHECKING:
    from runbooks.plan import StepProgress


@dataclass(frozen=True, slots=True)
class OpenWork:
    """Runs not finished (running, failed, interrupted) and the leases the incident's runs hold."""

    runs: list[Run] = field(default_factory=list)
    leases: list[Lease] = field(default_factory=list)
    #: Contaminated assets the recovery plan has not recovered yet, in words (`unrecovered`).
    unrecovered: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.runs and not self.leases and not self.unrecovered

    def lines(self) -> list[str]:
        """One line per open thing, in words, for a confirmation or a CLI warning."""
        out = [
            f"{run.id} {run.runbook_id} is {run.status} (by {_name(run.operator)})"
            for run in self.runs
        ]
        out.extend(
            f"{_name(lease.asset)} is leased by {lease.run_id} ({_name(lease.holder)})"
            for lease in self.leases
        )
        out.extend(self.unrecovered)
        return out


def open_work(store: Store, incident_id: str) -> OpenWork:
    """The incident's runbook runs that can still be resumed (not done, not abandoned, not a
    start refused before its first step; dry runs and pages excluded) and the leases its runs
    still hold."""
    runs = [record.run for record in run_records(store, incident_id) if record.resumable]
    run_ids = {run.id for run in store.list_runs(incident_id=incident_id)}
    leases = [lease for lease in store.list_leases() if lease.run_id in run_ids]
    return OpenWork(runs, leases)


def unrecovered(steps: Sequence[StepProgress]) -> list[str]:
    """The recovery plan's steps not done, as one line each: a contaminated asset whose
    runbook has not run (or not finished), or one whose recovery is left to its owner (oncall
    cannot tell whether that was done)."""
    out = []
    for item in steps:
        step = item.step
        asset = _name(step.asset)
        if item.state == "manual":
            owner = _name(step.owner) if step.owner else "no owner"
            out.append(f"{asset} is contaminated; its recovery is by hand ({owner})")
        elif item.state == "unfinished" and item.run is not None:
            out.append(f"{asset} is contaminated; {item.run.id} {step.runbook} is unfinished")
        elif item.state != "done":
            out.append(f"{asset} is contaminated and not recovered ({step.runbook} not run)")
    return out


def _name(ref: str) -> str:
    """`user:default/ana.lima` → `ana.lima` (the default namespace reads as a name)."""
    _, _, rest = ref.partition(":")
    namespace, _, name = (rest or ref).rpartition("/")
    return name if namespace in ("", "default") else rest or ref
