"""One ordered recovery plan from the contamination analysis, and running it.

`build_plan` turns the analysis for an incident's asset into steps: for each contaminated asset,
sources before what they feed, the vetted runbook that applies to it (by `applies_to`) with its
parameters filled in — the asset, `since`/`until` from the bad window, `versions` from the
versions the bad runs wrote, and any other parameter from the incident's alert (the demo's alert
carries `day`) — and what the runbook's steps will change. An asset with no vetted runbook is a
manual item with its owner, never dropped.

`recover` runs the plan as a sequence of ordinary runbook runs through `runbooks.engine`
(`start_run`, `resume_run`): each leased, idempotent and resumable. A step whose run for the
same runbook and parameters is already done is skipped; one that was interrupted is resumed;
otherwise a new run starts. So running `recover` again after it finished changes nothing, and
running it again after it was stopped anywhere (even by SIGKILL) continues where it stopped.
The plan (once per distinct plan) and each decision go on the incident's timeline.
The app's plan screen walks the plan with the same `progress`/`next_step` and records with the
same `record_*` functions, opening the runbook run screen for each step instead of `run_all`.
`ONCALL_FAILPOINT=recover-step-<n>:before` kills the process between two runbooks (for the tests).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from runbooks.errors import RunbookError
from runbooks.failpoints import failpoint
from runbooks.library import Library
from runbooks.params import ParamError, resolve_params

if TYPE_CHECKING:
    from graph.contamination import Contamination
    from graph.model import Catalog
    from incidents.runs import Run
    from incidents.store import Store
    from runbooks.engine import RunReport, RunSession

PLAN_ACTOR = "oncall recover"


@dataclass(frozen=True)
class PlanStep:
    """One contaminated asset and what recovers it: a runbook run, or a manual item."""

    number: int
    asset: str
    owner: str | None
    hops: int
    versions: tuple[str, ...]
    runbook: str | None
    title: str | None
    params: dict[str, str] = field(default_factory=dict)
    changes: tuple[str, ...] = ()
    reason: str = ""

    @property
    def manual(self) -> bool:
        return self.runbook is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.number,
            "asset": self.asset,
            "owner": self.owner,
            "hops": self.hops,
            "versions": list(self.versions),
            "kind": "manual" if self.manual else "runbook",
            "runbook": self.runbook,
            "title": self.title,
            "params": dict(self.params),
            "changes": list(self.changes),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Plan:
    incident: str
    asset: str
    since: str
    until: str | None
    steps: tuple[PlanStep, ...]
    clean: tuple[str, ...]

    @property
    def runbook_steps(self) -> list[PlanStep]:
        return [s for s in self.steps if not s.manual]

    @property
    def manual_steps(self) -> list[PlanStep]:
        return [s for s in self.steps if s.manual]

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "asset": self.asset,
            "since": self.since,
            "until": self.until,
            "steps": [s.as_dict() for s in self.steps],
            "clean": list(self.clean),
        }

    @property
    def digest(self) -> str:
        """Names this exact plan, so recording it again on the timeline can be skipped."""
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def commands(self, incident_id: str) -> list[str]:
        """Each runbook step as the `oncall runbook run` command that does the same by hand."""
        lines = []
        for step in self.runbook_steps:
            params = " ".join(f"--param {k}={_shell(v)}" for k, v in step.params.items())
            lines.append(f"oncall runbook run {step.runbook} --incident {incident_id} {params}")
        return lines


def build_plan(
    *,
    catalog: Catalog,
    library: Library,
    analysis: Contamination,
    incident_id: str,
    alert_values: Mapping[str, Any],
    describe: Callable[[str, dict[str, str]], tuple[str, ...]] | None = None,
) -> Plan:
    """The ordered plan for `analysis`; `describe(runbook, params)` says what a runbook's steps
    will change (the CLI renders their titles through a dry run)."""
    since = _iso(analysis.since)
    until = _iso(analysis.until) if analysis.until else None
    steps = []
    for number, item in enumerate(_ordered(catalog, analysis), start=1):
        entity = catalog.entities.get(item.ref)
        base = {
            "number": number,
            "asset": item.ref,
            "owner": item.owner,
            "hops": item.hops,
            "versions": tuple(item.versions),
        }
        if entity is None:
            steps.append(
                PlanStep(
                    **base,
                    runbook=None,
                    title=None,
                    reason="not in the catalog: no runbook can apply",
                )
            )
            continue
        applicable = library.for_asset(entity)
        vetted = sorted(
            (e for e in applicable if e.state == "vetted" and e.runbook), key=lambda e: e.runbook.id
        )
        if not vetted:
            why = (
                f"{', '.join(sorted(e.runbook.id for e in applicable if e.runbook))} applies but is not vetted"
                if applicable
                else f"no runbook applies to {entity.type or entity.kind} {entity.name}"
            )
            steps.append(PlanStep(**base, runbook=None, title=None, reason=f"by hand: {why}"))
            continue
        runbook = vetted[0].runbook
        assert runbook is not None
        values = {"since": since, "until": until, "versions": ",".join(item.versions) or None}
        params: dict[str, str] = {}
        missing = []
        asset_param = runbook.spec.asset_param()
        for name, spec in runbook.spec.params.items():
            if name == asset_param:
                params[name] = item.ref
            elif values.get(name) is not None:
                params[name] = str(values[name])
            elif name in alert_values and alert_values[name] is not None:
                params[name] = str(alert_values[name])
            elif spec.required:
                missing.append(name)
        if missing:
            steps.append(
                PlanStep(
                    **base,
                    runbook=None,
                    title=runbook.spec.title,
                    params=params,
                    reason=(
                        f"by hand: {runbook.id} needs {', '.join(missing)}, which neither the "
                        "analysis nor the incident's alert gives"
                    ),
                )
            )
            continue
        changes = describe(runbook.id, params) if describe else ()
        extra = f" (also: {', '.join(e.runbook.id for e in vetted[1:])})" if len(vetted) > 1 else ""
        steps.append(
            PlanStep(
                **base,
                runbook=runbook.id,
                title=runbook.spec.title,
                params=params,
                changes=changes,
                reason=f"{runbook.id} applies to {entity.type or entity.kind}{extra}",
            )
        )
    return Plan(
        incident=incident_id,
        asset=analysis.asset,
        since=since,
        until=until,
        steps=tuple(steps),
        clean=tuple(c.ref for c in analysis.clean),
    )


def alert_values(store: Store, incident_id: str) -> dict[str, Any]:
    """The scalar values the incident's alerts carry (labels, the alert's own data), newest last."""
    values: dict[str, Any] = {}
    for event in store.events(incident_id):
        if event.kind != "alert":
            continue
        for key, value in event.data.items():
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                values[key] = value
    return values


# -- running ------------------------------------------------------------------------------------
#
# `oncall recover` and the app's plan screen walk the plan with the same functions: `progress`
# says, from the store's runs, which step is done (by which run), which has a run to resume and
# which is still to run; `record_plan`, `record_stop` and `record_finished` put the plan and each
# decision on the timeline. The CLI runs each step with `RunSession.run_all`; the app opens the
# runbook run screen for it. Either way a step is an ordinary run, recognised as the plan's by
# its runbook and its stored parameters.

StepState = Literal["manual", "done", "unfinished", "to_run"]


@dataclass(frozen=True)
class StepProgress:
    """Where one plan step stands: `run` is the run that did it (done) or the one to resume."""

    step: PlanStep
    state: StepState
    run: Run | None = None


@dataclass
class RecoveryReport:
    incident: str
    status: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    manual: list[dict[str, Any]] = field(default_factory=list)
    #: Runs started or resumed by this call (0: every step was already done, nothing ran).
    started: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "status": self.status,
            "runs": self.runs,
            "manual": self.manual,
        }


StartRun = Callable[[PlanStep], "RunSession"]
ResumeRun = Callable[["Run"], "RunSession"]


def progress(store: Store, catalog: Catalog, library: Library, plan: Plan) -> list[StepProgress]:
    """Each step of the plan, in order, with what the incident's runs say about it."""
    runs = store.list_runs(plan.incident)
    found = []
    for step in plan.steps:
        if step.manual:
            found.append(StepProgress(step, "manual"))
            continue
        done, unfinished = _runs_for(step, runs, catalog, library)
        if done is not None:
            found.append(StepProgress(step, "done", done))
        elif unfinished is not None:
            found.append(StepProgress(step, "unfinished", unfinished))
        else:
            found.append(StepProgress(step, "to_run"))
    return found


def next_step(steps: Iterable[StepProgress]) -> StepProgress | None:
    """The first runbook step not done yet (to resume or to start); None when all are done.
    Steps run in the plan's order: a later step is never offered before an earlier one."""
    return next((s for s in steps if s.state in ("unfinished", "to_run")), None)


def recover(
    *,
    store: Store,
    catalog: Catalog,
    plan: Plan,
    library: Library,
    start: StartRun,
    resume: ResumeRun,
    actor: str,
    say: Callable[[str], None] = lambda _text: None,
) -> RecoveryReport:
    """Run the plan's runbook steps in order, each as an ordinary run; stop at the first run
    that does not finish `done`. `start`/`resume` call `runbooks.engine` with the caller's
    environment, prompter and options."""
    record_plan(store, plan, actor)
    report = RecoveryReport(plan.incident, "done")
    for item in progress(store, catalog, library, plan):
        step = item.step
        if item.state == "manual":
            report.manual.append(step.as_dict())
            continue
        failpoint(f"recover-step-{step.number}", "before")
        if item.state == "done":
            assert item.run is not None
            say(
                f"step {step.number}: {step.runbook} for {step.asset} already done by {item.run.id}"
            )
            report.runs.append(_done_report(store, item.run))
            continue
        if item.state == "unfinished":
            assert item.run is not None
            say(f"step {step.number}: resuming {item.run.id} ({step.runbook} for {step.asset})")
            session = resume(item.run)
        else:
            say(f"step {step.number}: {step.runbook} for {step.asset}")
            session = start(step)
        report.started += 1
        result: RunReport = session.run_all()
        report.runs.append(result.as_dict())
        if result.status != "done":
            report.status = "stopped"
            record_stop(store, plan, step, result.run_id, result.status, actor)
            return report
    if report.manual:
        report.status = "manual"
    record_finished(store, plan, [r["run"] for r in report.runs], actor)
    return report


def record_stop(
    store: Store, plan: Plan, step: PlanStep, run_id: str | None, status: str, actor: str
) -> None:
    """The recovery stopped at `step`: its run did not finish (interrupted, failed, refused)."""
    store.append_event(
        plan.incident,
        "decision",
        f"recovery stopped at step {step.number} ({step.runbook} for {step.asset}): "
        f"{run_id or 'its run'} is {status}; `oncall recover {plan.incident}` continues",
        actor,
        {"plan": plan.digest, "step": step.number, "run": run_id},
    )


def record_finished(store: Store, plan: Plan, run_ids: list[str], actor: str) -> bool:
    """Every runbook step is done: say so on the timeline, with the manual items and their
    owners. Said once: when the newest word on this plan already says it, a rerun that found
    everything done adds nothing. Returns whether it was recorded now."""
    status = "manual" if plan.manual_steps else "done"
    data = {"plan": plan.digest, "runs": list(run_ids), "status": status}
    for event in reversed(store.events(plan.incident)):
        if event.kind == "decision" and event.data.get("plan") == plan.digest:
            if event.data == data:
                return False
            break
    store.append_event(plan.incident, "decision", _finished_message(plan, run_ids), actor, data)
    return True


def _finished_message(plan: Plan, run_ids: list[str]) -> str:
    runs = len(run_ids)
    text = f"recovery plan {plan.digest}: {runs} runbook run{'s' if runs != 1 else ''} done"
    if plan.manual_steps:
        items = ", ".join(f"{m.asset} ({m.owner or 'no owner'})" for m in plan.manual_steps)
        text += f"; left by hand: {items}"
    return text


def record_plan(store: Store, plan: Plan, actor: str) -> bool:
    """The plan on the timeline, once per distinct plan (a rerun of the same plan adds
    nothing). Returns whether it was recorded now."""
    for event in store.events(plan.incident):
        if event.kind == "decision" and event.data.get("recovery_plan") == plan.digest:
            return False
    lines = [
        f"{s.number}. {s.asset}: " + (f"{s.runbook}" if not s.manual else s.reason)
        for s in plan.steps
    ]
    store.append_event(
        plan.incident,
        "decision",
        f"recovery plan {plan.digest} for {plan.asset} since {plan.since}: " + "; ".join(lines),
        actor,
        {"recovery_plan": plan.digest, **plan.as_dict()},
    )
    return True


def _runs_for(
    step: PlanStep,
    runs: Iterable[Run],
    catalog: Catalog,
    library: Library,
) -> tuple[Run | None, Run | None]:
    """The done run of this step, else its newest unfinished one (same runbook, same params)."""
    wanted = _stored_params(step, catalog, library)
    done = unfinished = None
    for run in runs:
        if run.dry_run or run.runbook_id != step.runbook or run.params != wanted:
            continue
        if run.status == "done":
            done = run
        elif run.status in ("running", "interrupted", "failed"):
            unfinished = run
    return done, unfinished


def _stored_params(step: PlanStep, catalog: Catalog, library: Library) -> dict[str, Any]:
    runbook = library.get(step.runbook or "").runbook
    if runbook is None:
        raise RunbookError(f"plan step {step.number}: runbook {step.runbook} does not load")
    try:
        return resolve_params(runbook.spec, step.params, catalog).stored
    except ParamError as exc:
        raise RunbookError(f"plan step {step.number} ({step.asset}): {exc}") from exc


def _done_report(store: Store, run: Run) -> dict[str, Any]:
    from runbooks.engine import RunReport, StepState

    steps = [
        StepState(
            id=entry.step_id,
            title=entry.step_id,
            destructive=False,
            status="done" if entry.status == "done" else "failed",
            effect_count=entry.effect_count,
            message=f"already done by {run.id}",
        )
        for entry in store.ledger_for_run(run.id)
    ]
    return RunReport(
        run_id=run.id,
        status=run.status,
        runbook_id=run.runbook_id,
        version=run.version,
        incident_id=run.incident_id,
        operator=run.operator,
        dry_run=False,
        steps=tuple(steps),
    ).as_dict()


def _ordered(catalog: Catalog, analysis: Contamination) -> list[Any]:
    """Contaminated assets, sources before what they feed: a topological order of the catalog's
    edges and the analysis' paths among them, ties broken by hops, then when they went bad."""
    items = {c.ref: c for c in analysis.contaminated}
    feeds: dict[str, set[str]] = {ref: set() for ref in items}
    for item in analysis.contaminated:
        for parent, child in zip(item.path, item.path[1:], strict=False):
            if parent in feeds and child in items and parent != child:
                feeds[parent].add(child)
        downstream = catalog.downstream.get(item.ref, ()) if item.ref in catalog.entities else ()
        for child in downstream:
            if child in items and child != item.ref:
                feeds[item.ref].add(child)
    waiting = {ref: 0 for ref in items}
    for children in feeds.values():
        for child in children:
            waiting[child] += 1

    def rank(ref: str) -> tuple[int, Any, str]:
        return (items[ref].hops, items[ref].bad_from, ref)

    ready = sorted((r for r, n in waiting.items() if n == 0), key=rank)
    order: list[str] = []
    while ready:
        ref = ready.pop(0)
        order.append(ref)
        for child in feeds[ref]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
        ready.sort(key=rank)
    order += sorted((r for r in items if r not in order), key=rank)  # a cycle: hops decide
    return [items[ref] for ref in order]


def _iso(value: Any) -> str:
    from datetime import UTC

    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _shell(value: str) -> str:
    import shlex

    return shlex.quote(value)
