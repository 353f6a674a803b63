"""The step engine's front door: `start_run` and `resume_run` check everything that can refuse a
run (vetting, the incident, parameters, leases) before the first effect, and hand back a
`RunSession` (runbooks/session.py) to drive step by step or all at once.

A run, in short (DESIGN.md, "runbooks: vetted, idempotent recovery"): each step's key is
hash(incident, runbook, version, step, rendered action); the ledger's intent → effect → done
makes a repeated step "already done"; a check that holds skips the effect; a step interrupted
between intent and done is in doubt and is settled by its check or by the operator; every
asset a run changes is leased before its first effect; destructive steps need an owner, the
on-call person, or break-glass. A dry run renders every step and runs only checks, writing
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from incidents.errors import StoreError
from incidents.records import Incident
from incidents.store import Store
from runbooks.environment import RunbookEnv
from runbooks.errors import RunbookError
from runbooks.leasing import LeaseKeeper, LeaseRefused
from runbooks.library import load_library
from runbooks.paging import is_page_run
from runbooks.params import ResolvedParams, frozen_params, resolve_params
from runbooks.permissions import operator_ref
from runbooks.prompts import Prompter, ScriptPrompter
from runbooks.run_context import Clock, RunContext
from runbooks.run_state import (
    EngineEvent,
    EventSink,
    RenderedStep,
    RunOptions,
    RunReport,
    StepOutcome,
    StepState,
)
from runbooks.schema import Runbook
from runbooks.session import RunSession
from runbooks.vetting import read_lock, require_vetted, vet_state

if TYPE_CHECKING:
    from graph.model import Catalog


def start_run(
    *,
    store: Store,
    env: RunbookEnv,
    catalog: Catalog | None,
    runbook_id: str,
    incident_id: str | None,
    params: Mapping[str, Any],
    operator: str,
    options: RunOptions | None = None,
    prompter: Prompter | None = None,
    on_event: EventSink | None = None,
    clock: Clock | None = None,
) -> RunSession:
    """Check everything (vetted, incident open, params, leases) before the first effect, then
    return a session ready to run. A dry run checks the same things except vetting and leases."""
    options = options or RunOptions()
    prompter = prompter or ScriptPrompter(options.yes, options.yes_destructive)
    library = load_library(env.runbooks_dir, env.lock_file)
    entry = library.get(runbook_id)
    if entry.runbook is None:
        assert entry.error is not None
        raise entry.error
    runbook = entry.runbook
    if not options.dry_run:
        require_vetted(runbook, env.lock_file)
    incident = _incident(store, incident_id, options.dry_run)
    resolved = resolve_params(runbook.spec, params, catalog)
    vetted = vet_state(runbook, read_lock(env.lock_file)) == "vetted"
    ctx = _context(store, env, catalog, runbook, incident, resolved, operator, options, prompter)
    ctx.on_event, ctx.clock = on_event, clock or store.clock
    session = RunSession(ctx, vetted=vetted)
    assets = session.changed_assets()
    if options.dry_run:
        if not vetted:
            ctx.record(
                "note",
                f"{runbook.id} is not vetted: the dry run renders every step and "
                "runs nothing, not even its checks",
            )
        session.load_states()
        return session
    assert incident is not None
    session.gate.decide_up_front(session.renderer.destructive_assets())
    session.gate.require_confirmable(session.destructive_steps_to_confirm)
    ctx.run = store.create_run(
        incident.id,
        runbook.id,
        runbook.version,
        runbook.sha256,
        resolved.stored,
        ctx.actor,
        dry_run=False,
        session=ctx.token,
    )
    ctx.record(
        "decision",
        f"{ctx.actor} started runbook {runbook.id} v{runbook.version} as {ctx.run.id}",
        data={"params": resolved.stored, "sha256": runbook.sha256, "assets": assets},
    )
    session.gate.record_break_glass()
    _take_leases(session, assets, resuming=False)
    session.load_states()
    return session


def resume_run(
    *,
    store: Store,
    env: RunbookEnv,
    catalog: Catalog | None,
    run_id: str,
    operator: str,
    options: RunOptions | None = None,
    prompter: Prompter | None = None,
    on_event: EventSink | None = None,
    clock: Clock | None = None,
) -> RunSession:
    """Continue a run after a crash, a closed laptop or a handover, with the exact runbook file
    it started with. Steps it finished stay finished; steps in doubt are settled first.

    A run whose leases say it may still be running on another machine is refused
    (`RunStillActive`) unless `options.force_reason` says why taking it over is safe; the
    takeover and that reason go on the timeline as an `override`."""
    options = options or RunOptions()
    if options.dry_run:
        raise RunbookError("a resume always executes; use `runbook run --dry-run` to preview")
    prompter = prompter or ScriptPrompter(options.yes, options.yes_destructive)
    run = store.get_run(run_id)
    if is_page_run(run):
        raise RunbookError(
            f"{run.id} is a page, not a runbook run; page again with "
            f"`oncall runbook page {run.incident_id}`"
        )
    if run.status == "done":
        raise RunbookError(f"{run.id} is done; there is nothing to resume")
    if run.status == "abandoned":
        raise RunbookError(f"{run.id} was abandoned; start a new run of {run.runbook_id}")
    if run.incident_id is None:
        raise RunbookError(f"{run.id} has no incident; only incident runs can be resumed")
    entry = load_library(env.runbooks_dir, env.lock_file).get(run.runbook_id)
    if entry.runbook is None:
        assert entry.error is not None
        raise entry.error
    runbook = entry.runbook
    if runbook.sha256 != run.sha256 or runbook.version != run.version:
        raise RunbookError(
            f"{run.id} ran {run.runbook_id} v{run.version} (sha256 {run.sha256[:12]}…); the file "
            f"{runbook.path} is now v{runbook.version} (sha256 {runbook.sha256[:12]}…). A run "
            "continues only with the runbook it started with. Abandon it (`oncall runbook "
            f"abandon {run.id} --reason TEXT`), have the new version vetted (`oncall runbook vet "
            f"{runbook.path} --reviewer NAME`), then start a new run"
        )
    require_vetted(runbook, env.lock_file)
    incident = store.get_incident(run.incident_id)
    if incident.is_closed:
        raise RunbookError(
            f"{incident.id} is {incident.status}; {run.id} cannot be resumed for a closed "
            "incident (open a new incident to act)"
        )
    resolved = frozen_params(runbook.spec, run.params, catalog)  # as at start, never re-resolved
    ctx = _context(store, env, catalog, runbook, incident, resolved, operator, options, prompter)
    ctx.on_event, ctx.clock, ctx.run = on_event, clock or store.clock, run
    session = RunSession(ctx)
    _lease_keeper(session).refuse_if_still_active(
        session.changed_assets(), ctx.options.force_reason
    )  # a live run is refused before anyone is asked for a reason it could not use
    session.gate.decide_up_front(session.renderer.destructive_assets())
    session.gate.require_confirmable(session.destructive_steps_to_confirm)
    _take_leases(session, session.changed_assets(), resuming=True)
    ctx.run = store.claim_run(run.id, ctx.token)  # from now on the run is this session's
    if run.status != "running":
        store.set_run_status(run.id, "running", session=ctx.token)
    ctx.record(
        "decision",
        f"{ctx.actor} resumed {run.id} ({runbook.id} v{runbook.version}; it was {run.status}, "
        f"started by {run.operator})",
        data={"was": run.status},
    )
    session.gate.record_break_glass()
    session.load_states()
    return session


def _incident(store: Store, incident_id: str | None, dry_run: bool) -> Incident | None:
    if incident_id is None:
        if dry_run:
            return None
        raise RunbookError("a run needs --incident INC (only a dry run may go without one)")
    incident = store.get_incident(incident_id)
    if incident.is_closed and not dry_run:
        raise RunbookError(f"{incident.id} is {incident.status}; open a new incident to act")
    return incident


def _context(
    store: Store,
    env: RunbookEnv,
    catalog: Catalog | None,
    runbook: Runbook,
    incident: Incident | None,
    params: ResolvedParams,
    operator: str,
    options: RunOptions,
    prompter: Prompter,
) -> RunContext:
    return RunContext(
        store=store,
        env=env,
        catalog=catalog,
        runbook=runbook,
        incident=incident,
        params=params,
        operator=operator,
        actor=operator_ref(catalog, operator) or operator,
        options=options,
        prompter=prompter,
        clock=store.clock,
    )


def _lease_keeper(session: RunSession) -> LeaseKeeper:
    ctx = session.ctx
    assert ctx.run is not None
    return LeaseKeeper(
        ctx.store,
        ctx.run.id,
        ctx.actor,
        ctx.incident_id,
        ctx.lease_report,
        ctx.options.lease_ttl,
        session=ctx.token,
    )


def _take_leases(session: RunSession, assets: Sequence[str], *, resuming: bool) -> None:
    ctx = session.ctx
    assert ctx.run is not None
    keeper = _lease_keeper(session)
    ctx.keeper = keeper
    try:
        keeper.acquire_all(assets, force_reason=ctx.options.force_reason, resuming=resuming)
    except (LeaseRefused, RunbookError, StoreError):
        if not resuming:
            ctx.store.set_run_status(ctx.run.id, "failed")
            ctx.record("note", f"{ctx.run.id} did not start: an asset is leased")
        raise


__all__ = [
    "EngineEvent",
    "EventSink",
    "RenderedStep",
    "RunOptions",
    "RunReport",
    "RunSession",
    "StepOutcome",
    "StepState",
    "resume_run",
    "start_run",
]
