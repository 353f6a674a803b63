"""Is this recovery already done? Asked before a run starts, by the CLI and the app alike.

Running a finished recovery again is safe (every step is checked first and nothing done is
repeated) but it is usually a mistake at 3 AM: the operator should hear "already done by RUN-1"
before they fill a form or type an asset's name. Two ways to know, read-only both:

1. a run of the same runbook for the same incident finished `done` with the same parameters
   (stored as a start stores them: canonical refs), or, when the parameters are not all known
   yet, for the same asset;
2. a dry run finds nothing to do: every step is already done (the ledger) or its check holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from incidents.errors import StoreError
from incidents.store import Store
from runbooks.environment import RunbookEnv
from runbooks.errors import RunbookError
from runbooks.history import RunRecord, done_by, run_records
from runbooks.params import resolve_params
from runbooks.prompts import ScriptPrompter
from runbooks.run_context import Clock
from runbooks.run_state import RunOptions

if TYPE_CHECKING:
    from graph.model import Catalog


@dataclass(frozen=True)
class AlreadyDone:
    """Why starting `runbook_id` for `asset` again would find nothing to do."""

    runbook_id: str
    asset: str | None
    #: The finished run that did it (None: found by the dry run's checks alone).
    record: RunRecord | None = None
    #: Whether that run had exactly these parameters (False: the same asset, others unknown).
    same_params: bool = False
    #: Per step, why nothing is left to do ("pause-etl: desired state already holds (…)").
    settled: tuple[str, ...] = ()

    @property
    def run_id(self) -> str | None:
        return self.record.run.id if self.record is not None else None

    def headline(self) -> str:
        """One line, starting "already done"."""
        target = f" for {_name(self.asset)}" if self.asset else ""
        if self.record is not None:
            run = self.record.run
            when = run.finished_at or run.updated_at
            params = " with the same parameters" if self.same_params else ""
            effects = self.record.effects
            return (
                f"already done by {run.id}: it ran {run.runbook_id}{target}{params} and finished "
                f"at {when:%H:%M} UTC ({effects} effect{'' if effects == 1 else 's'})"
            )
        return f"already done: every step of {self.runbook_id}{target} is done or its check holds"


def already_done(
    *,
    store: Store,
    env: RunbookEnv,
    catalog: Catalog | None,
    runbook_id: str,
    incident_id: str | None,
    params: Mapping[str, Any],
    operator: str,
    clock: Clock | None = None,
) -> AlreadyDone | None:
    """Whether a run of `runbook_id` with `params` would find nothing to do, and why; None when
    it would act (or when that cannot be known: a parameter that does not resolve, a runbook
    that does not load; starting then says what is wrong). Reads only."""
    from runbooks.library import load_library

    entry = load_library(env.runbooks_dir, env.lock_file).get(runbook_id)
    if entry.runbook is None:
        return None
    spec = entry.runbook.spec
    asset_param = spec.asset_param()
    given_asset = params.get(asset_param) if asset_param else None
    try:
        resolved = resolve_params(spec, params, catalog)
    except RunbookError:
        resolved = None
    asset = str(resolved.stored.get(asset_param)) if resolved and asset_param else given_asset
    records = run_records(store, incident_id) if incident_id else []
    if resolved is None:  # the form is not complete yet: a finished run on the same asset
        record = done_by(records, runbook_id, str(given_asset)) if given_asset else None
        if record is None:
            return None
        same_asset = [
            r for r in records if r.run.status == "done" and r.targets() == record.targets()
        ]
        return AlreadyDone(runbook_id, asset, _doer(same_asset, record))
    same = [
        r
        for r in records
        if r.run.runbook_id == runbook_id
        and r.run.status == "done"
        and r.run.params == resolved.stored
    ]
    if same:
        return AlreadyDone(runbook_id, asset, _doer(same, same[-1]), same_params=True)
    if entry.state != "vetted":
        return None  # an unvetted runbook's checks are never run, not even in a dry run
    settled = _nothing_to_do(store, env, catalog, runbook_id, incident_id, params, operator, clock)
    return AlreadyDone(runbook_id, asset, settled=settled) if settled else None


def _doer(records: list[RunRecord], latest: RunRecord) -> RunRecord:
    """The run to name: the latest that changed something (a repeat that only skipped did not
    do the work), else the latest."""
    worked = [r for r in records if r.run.runbook_id == latest.run.runbook_id and r.effects > 0]
    return worked[-1] if worked else latest


def _nothing_to_do(
    store: Store,
    env: RunbookEnv,
    catalog: Catalog | None,
    runbook_id: str,
    incident_id: str | None,
    params: Mapping[str, Any],
    operator: str,
    clock: Clock | None,
) -> tuple[str, ...]:
    """The dry run's findings when every step would be skipped; () when one would act."""
    from runbooks.engine import start_run

    try:
        session = start_run(
            store=store,
            env=env,
            catalog=catalog,
            runbook_id=runbook_id,
            incident_id=incident_id,
            params=params,
            operator=operator,
            options=RunOptions(dry_run=True),
            prompter=ScriptPrompter(lines=[]),
            clock=clock,
        )
        steps = [session.run_step(state.id).state for state in session.plan()]
    except (RunbookError, StoreError):
        return ()
    if not steps or any(step.status != "would_skip" for step in steps):
        return ()
    return tuple(f"{step.id}: {step.message}" for step in steps)


def _name(ref: str) -> str:
    return ref.rpartition("/")[2] if "/" in ref else ref.rpartition(":")[2]
