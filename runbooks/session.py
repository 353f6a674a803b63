"""The run session: runs a vetted runbook one step at a time, exactly once per effect.

For each step (DESIGN.md, "Idempotency"):

1. render the action; its key is hash(incident, runbook, version, step, rendered action);
2. a key already `done` in the ledger is skipped ("already done");
3. a key `started` but never done (a crash) is in doubt: the step's check settles it, or the
   operator does, and the answer goes on the timeline;
4. otherwise a check that already holds skips the step;
5. destructive steps need the operator to own the asset or be on call (else break-glass), and a
   typed confirmation; every step is confirmed unless `--yes` (never destructive ones without
   `--yes-destructive`);
6. intent → effect (with retries and a timeout) → verify → done.

Every start, skip, effect, failure, lease and decision is a timeline event. A dry run renders
every step and runs only checks (read-only); it writes nothing: no run, no ledger row, no event.

`RunSession` is built to be driven step by step (the TUI: `plan`, `next_step`, `render`,
`run_step`, `skip_step`, `mark_done`) or all at once (`run_all`, the CLI).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from graph.errors import GraphError
from incidents.ledger import LedgerEntry
from incidents.records import Incident
from incidents.runs import Run
from incidents.store import Store
from runbooks.actions import (
    Action,
    ActionDeclined,
    ActionFailed,
    ActionRuntime,
    CheckResult,
    RenderedAction,
    render_check,
)
from runbooks.environment import RunbookEnv
from runbooks.errors import RunbookError
from runbooks.failpoints import failpoint
from runbooks.keys import step_key
from runbooks.leasing import LeaseKeeper
from runbooks.params import ResolvedParams
from runbooks.permissions import destructive_permission, operator_ref
from runbooks.prompts import Prompter, Settlement
from runbooks.run_state import (
    EngineEvent,
    EventSink,
    RenderedStep,
    RunOptions,
    RunReport,
    RunStatus,
    StepOutcome,
    StepState,
)
from runbooks.schema import Runbook, StepSpec
from runbooks.templating import (
    IncidentView,
    Renderer,
    StepView,
    TemplateContext,
    TemplateProblem,
)

if TYPE_CHECKING:
    from graph.model import Catalog

#: Where a session reads the time (who is on call now, for a destructive step's permission).
Clock = Callable[[], datetime]


class RunSession:
    """One run of one runbook for one incident, driven step by step or all at once."""

    def __init__(
        self,
        *,
        store: Store,
        env: RunbookEnv,
        catalog: Catalog | None,
        runbook: Runbook,
        incident: Incident | None,
        params: ResolvedParams,
        operator: str,
        options: RunOptions,
        prompter: Prompter,
        on_event: EventSink | None = None,
        run: Run | None = None,
        clock: Clock | None = None,
    ) -> None:
        """`clock` defaults to the store's (UTC now unless the store was given another), so
        the UI's clock, or a test's, decides who is on call when a destructive step asks."""
        self.store = store
        self.clock: Clock = clock or store.clock
        self.env = env
        self.catalog = catalog
        self.runbook = runbook
        self.incident = incident
        self.params = params
        self.operator = operator
        self.actor = operator_ref(catalog, operator) or operator
        self.options = options
        self.prompter = prompter
        self.on_event = on_event
        self.run = run
        self.keeper: LeaseKeeper | None = None
        self.outputs: dict[str, StepView] = {}
        self.states: dict[str, StepState] = {
            s.id: StepState(s.id, self._title(s), s.destructive) for s in runbook.spec.steps
        }
        self._visited: set[str] = set()
        self._stopped: str | None = None
        self._finished: RunReport | None = None

    # -- identity ------------------------------------------------------------------------------

    @property
    def run_id(self) -> str | None:
        return self.run.id if self.run else None

    @property
    def dry_run(self) -> bool:
        return self.options.dry_run

    @property
    def incident_id(self) -> str | None:
        return self.incident.id if self.incident else None

    # -- recording -----------------------------------------------------------------------------

    def record(
        self,
        kind: str,
        message: str,
        step: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """A timeline event (never in a dry run) and a report to the UI."""
        payload = dict(data or {})
        if step:
            payload.setdefault("step", step)
        if self.run_id:
            payload.setdefault("run", self.run_id)
            payload.setdefault("runbook", self.runbook.id)
        if not self.dry_run and self.incident_id:
            self.store.append_event(self.incident_id, kind, message, self.actor, payload)
        if self.on_event:
            self.on_event(EngineEvent(kind, message, step, payload))

    def lease_report(self, kind: str, message: str, data: dict[str, object]) -> None:
        self.record(kind, message, data=data)

    # -- rendering -----------------------------------------------------------------------------

    def _renderer(self) -> Renderer:
        asset_name = self.runbook.spec.asset_param()
        asset = self.params.values.get(asset_name) if asset_name else None
        incident = None
        if self.incident:
            i = self.incident
            incident = IncidentView(i.id, i.title, i.severity, i.status, i.asset, i.commander)
        return Renderer(TemplateContext(dict(self.params.values), asset, incident, self.outputs))

    def _title(self, step: StepSpec) -> str:
        """The step's title with its templates filled in; as written while it needs the output
        of a step that has not run yet (`render` fills it in once that output exists)."""
        try:
            return self._renderer().text(step.title, field_name="title")
        except TemplateProblem:
            return step.title

    def _output(self, step_id: str, view: StepView) -> None:
        """Keep a finished step's output for later templates, and fill in the titles that were
        waiting for it."""
        self.outputs[step_id] = view
        self._refresh_titles()

    def _refresh_titles(self) -> None:
        for step in self.runbook.spec.steps:
            if "{" in step.title:
                self.states[step.id].title = self._title(step)

    def _render_title(self, step: StepSpec) -> str:
        """The title rendered now, in the same sandbox as the action; kept on the step's state
        so the plan shows it too."""
        try:
            title = self._renderer().text(step.title, field_name="title")
        except TemplateProblem as exc:
            raise self._problem(step.id, exc) from exc
        self.states[step.id].title = title
        return title

    def _key_function(self, step_id: str) -> Callable[[Mapping[str, Any]], str]:
        def key(payload: Mapping[str, Any]) -> str:
            return step_key(
                self.incident_id, self.runbook.id, self.runbook.version, step_id, payload
            )

        return key

    def _problem(self, step_id: str, exc: TemplateProblem) -> RunbookError:
        line = self.runbook.step_line(step_id)
        where = f"{self.runbook.path}:{line}: " if line else f"{self.runbook.path}: "
        return RunbookError(f"{where}step {step_id!r}: {exc}")

    def _render_action(self, step: StepSpec) -> RenderedAction:
        try:
            return step.action.render(self._renderer(), key=self._key_function(step.id))
        except TemplateProblem as exc:
            raise self._problem(step.id, exc) from exc

    def _render_check(self, step: StepSpec, check: Action) -> tuple[RenderedAction, Any]:
        try:
            return render_check(check, self._renderer())
        except TemplateProblem as exc:
            raise self._problem(step.id, exc) from exc

    def step_assets(self, step: StepSpec) -> list[str]:
        """The assets a step changes, as canonical refs (its `assets:`, else the asset param)."""
        if step.assets is None:
            name = self.runbook.spec.asset_param()
            value = self.params.stored.get(name) if name else None
            return [str(value)] if value else []
        renderer = self._renderer()
        refs = []
        for index, template in enumerate(step.assets):
            try:
                text = renderer.text(template, field_name=f"assets[{index}]")
            except TemplateProblem as exc:
                raise self._problem(step.id, exc) from exc
            refs.append(self._canonical(text, step.id))
        return refs

    def _canonical(self, text: str, step_id: str) -> str:
        if self.catalog is None:
            return text
        try:
            return self.catalog.resolve(text).ref
        except GraphError as exc:
            raise RunbookError(f"{self.runbook.path}: step {step_id!r}: assets: {exc}") from exc

    def changed_assets(self) -> list[str]:
        assets: set[str] = set()
        for step in self.runbook.spec.steps:
            assets.update(self.step_assets(step))
        return sorted(assets)

    def render(self, step_id: str) -> RenderedStep:
        """The exact action, check and verify of a step as they would run now."""
        step = self.runbook.spec.step(step_id)
        action = self._render_action(step)
        title = self._render_title(step)
        check = self._render_check(step, step.check)[0] if step.check else None
        verify = self._render_check(step, step.verify)[0] if step.verify else None
        return RenderedStep(
            step.id,
            title,
            step.destructive,
            action,
            check,
            verify,
            tuple(self.step_assets(step)),
        )

    # -- state ---------------------------------------------------------------------------------

    def load_states(self) -> None:
        """Fill step states from the ledger: steps this run finished, in doubt or failed, and the
        outputs of done steps (later templates may use them). Stops at the first step that cannot
        be rendered yet (it needs an output that does not exist)."""
        for step in self.runbook.spec.steps:
            try:
                rendered = self._render_action(step)
            except RunbookError:
                break
            state = self.states[step.id]
            state.key, state.rendered = rendered.key, rendered
            entry = self.store.ledger_get(rendered.key) if rendered.key else None
            if entry is None:
                continue
            if entry.status == "done":
                self.outputs[step.id] = StepView("done", entry.output or {})
            if self.run_id is None or entry.run_id != self.run_id:
                if entry.status == "done":
                    state.message = f"already done by {entry.run_id}"
                continue
            state.effect_count = entry.effect_count
            if entry.status == "done":
                skipped = bool((entry.output or {}).get("skipped"))
                state.status = "skipped" if skipped else "done"
                state.message = str((entry.output or {}).get("skipped") or "done")
                self._visited.add(step.id)
            elif entry.status == "started":
                state.status = "in_doubt"
                state.message = "started before an interruption; not recorded done"
            else:
                state.status = "failed"
                state.message = entry.error or "failed"
        self._refresh_titles()

    def plan(self) -> list[StepState]:
        return [replace(s) for s in self.states.values()]

    def next_step(self) -> StepState | None:
        """The next step to work on, or None when the run is over or stopped."""
        if self._stopped:
            return None
        for state in self.states.values():
            if state.id in self._visited:
                continue
            if state.status in ("done", "skipped"):
                continue
            return state
        return None

    # -- running -------------------------------------------------------------------------------

    def run_all(self) -> RunReport:
        while (state := self.next_step()) is not None:
            outcome = self.run_step(state.id)
            if outcome.stop:
                break
        return self.finish()

    def run_step(self, step_id: str, *, confirmed: bool = False) -> StepOutcome:
        """Work one step through the ledger. `confirmed` says the UI already asked the operator
        (and, for a destructive step, had them type the asset name)."""
        step = self.runbook.spec.step(step_id)
        state = self.states[step_id]
        self._visited.add(step_id)
        self._stopped = None  # an earlier stop halts `run_all`, not an operator who goes on
        if self.dry_run:
            return StepOutcome(self._dry_step(step, state))
        self._require_live_run()
        try:
            rendered = self._render_action(step)
        except RunbookError as exc:
            return self._fail(step, state, None, str(exc), force_stop=True)
        state.key, state.rendered = rendered.key, rendered
        assert rendered.key is not None
        entry = self.store.ledger_get(rendered.key)
        if entry is not None and entry.status == "done":
            return self._already_done(step, state, entry)
        if entry is not None and entry.status == "started":
            settled = self._settle_in_doubt(step, state, rendered, entry)
            if settled is not None:
                return settled
        elif step.check is not None:
            skipped = self._skip_if_holds(step, state, rendered, entry)
            if skipped is not None:
                return skipped
        refusal = self._gate(step, state, rendered, confirmed)
        if refusal is not None:
            return refusal
        return self._effect(step, state, rendered, entry, confirmed)

    def skip_step(self, step_id: str, reason: str) -> StepOutcome:
        """The operator skips a step: nothing is done and nothing is recorded as done."""
        state = self.states[step_id]
        self._visited.add(step_id)
        self._stopped = None
        state.status, state.message = "skipped", f"skipped by the operator: {reason}"
        self.record(
            "step_skipped",
            f"{step_id}: skipped by {self.actor}: {reason}",
            step_id,
            {"reason": reason, "by": "operator"},
        )
        return StepOutcome(state)

    def mark_done(self, step_id: str, reason: str) -> StepOutcome:
        """The operator did the step by hand: recorded done (0 effects by oncall) with the why."""
        step = self.runbook.spec.step(step_id)
        state = self.states[step_id]
        self._visited.add(step_id)
        self._stopped = None
        self._require_live_run()
        rendered = self._render_action(step)
        assert rendered.key is not None and self.run_id is not None
        entry = self.store.ledger_get(rendered.key)
        if entry is None:
            self.store.ledger_intent(
                rendered.key, self.run_id, self.incident_id, step.id, rendered.as_dict()
            )
        if entry is None or entry.status != "done":
            self.store.ledger_done(
                rendered.key, {"settled": "operator", "reason": reason}, effect_count=0
            )
        self._output(step.id, StepView("done", {}))
        state.status, state.effect_count = "done", 0
        state.message = f"marked done by the operator: {reason}"
        self.record(
            "decision",
            f"{step_id}: {self.actor} marked it done by hand: {reason}",
            step_id,
            {"settled": "operator", "reason": reason},
        )
        return StepOutcome(state)

    # -- the pieces of run_step ----------------------------------------------------------------

    def _require_live_run(self) -> None:
        if self.run is None:
            raise RunbookError("this session has no run (start it with start_run)")
        if self._finished is not None:
            raise RunbookError(f"{self.run.id} is finished")

    def _runtime(self, step: StepSpec, key: str | None, confirmed: bool) -> ActionRuntime:
        state = self.states[step.id]

        def confirm(instruction: str) -> bool:
            return confirmed or self.prompter.confirm_manual(state, instruction)

        return ActionRuntime(
            connections=self.env.connections,
            credentials=self.env.credentials,
            workdir=self.env.root,
            timeout=step.timeout,
            idempotency_key=key,
            notify_webhook=self.env.notify_webhook,
            labels={
                "incident": self.incident_id or "",
                "runbook": self.runbook.id,
                "run": self.run_id or "",
                "step": step.id,
            },
            confirm=confirm,
            say=self.prompter.say,
        )

    def _check(self, step: StepSpec, check: Action) -> tuple[CheckResult, RenderedAction]:
        rendered, expect = self._render_check(step, check)
        result = check.check(rendered, self._runtime(step, None, False), expect)
        return result, rendered

    def _already_done(self, step: StepSpec, state: StepState, entry: LedgerEntry) -> StepOutcome:
        self._output(step.id, StepView("done", entry.output or {}))
        state.status, state.effect_count = "skipped", 0
        when = entry.finished_at.isoformat(timespec="seconds") if entry.finished_at else "?"
        state.message = f"already done ({entry.run_id}, {when})"
        self.record(
            "step_skipped",
            f"{step.id}: already done by {entry.run_id} at {when}; not repeated",
            step.id,
            {"reason": "already done", "key": entry.key, "done_by": entry.run_id},
        )
        return StepOutcome(state)

    def _skip_if_holds(
        self,
        step: StepSpec,
        state: StepState,
        rendered: RenderedAction,
        entry: LedgerEntry | None,
    ) -> StepOutcome | None:
        assert step.check is not None and rendered.key is not None and self.run_id
        try:
            result, _shown = self._check(step, step.check)
        except (ActionFailed, RunbookError) as exc:
            return self._fail(step, state, entry, f"check failed: {exc}")
        if not result.holds:
            return None
        why = f"desired state already holds ({result.detail})"
        output = {"skipped": why, "observed": result.observed}
        if entry is None:
            self.store.ledger_intent(
                rendered.key, self.run_id, self.incident_id, step.id, rendered.as_dict()
            )
        elif entry.status == "failed":
            self.store.ledger_restart(rendered.key, self.run_id)
        self.store.ledger_done(rendered.key, output, effect_count=0)
        self._output(step.id, StepView("skipped", output))
        state.status, state.effect_count, state.message = "skipped", 0, why
        self.record(
            "step_skipped",
            f"{step.id}: {why}",
            step.id,
            {"reason": "check holds", "observed": result.observed, "key": rendered.key},
        )
        return StepOutcome(state)

    def _settle_in_doubt(
        self, step: StepSpec, state: StepState, rendered: RenderedAction, entry: LedgerEntry
    ) -> StepOutcome | None:
        """A step started but not finished (a crash): did its effect happen? None: redo it."""
        assert rendered.key is not None
        state.status = "in_doubt"
        since = entry.started_at.isoformat(timespec="seconds")
        if step.check is not None:
            try:
                result, _shown = self._check(step, step.check)
            except (ActionFailed, RunbookError) as exc:
                state.message = f"in doubt, and its check failed: {exc}"
                self.record("step_failed", f"{step.id}: {state.message}", step.id)
                self._stopped = state.message
                return StepOutcome(state, stop=True)
            if result.holds:
                output = {"settled": "check", "observed": result.observed}
                self.store.ledger_done(rendered.key, output, effect_count=0)
                self._output(step.id, StepView("done", output))
                state.status, state.effect_count = "done", 0
                state.message = f"in doubt after an interruption; its check shows it took effect ({result.detail})"
                self.record(
                    "step_done",
                    f"{step.id}: started by {entry.run_id} at {since} and interrupted; its check "
                    f"shows the effect is in place ({result.detail}), so it is not repeated",
                    step.id,
                    {"settled": "check", "observed": result.observed, "key": rendered.key},
                )
                return StepOutcome(state)
            self.record(
                "decision",
                f"{step.id}: started by {entry.run_id} at {since} and interrupted; its check shows "
                f"no effect ({result.detail}), so it runs again",
                step.id,
                {"settled": "check", "observed": result.observed, "key": rendered.key},
            )
            return None
        answer: Settlement = self.prompter.settle_in_doubt(state, rendered.text)
        self.record(
            "decision",
            f"{step.id}: in doubt after an interruption (started by {entry.run_id} at {since}); "
            f"{self.actor} answered: {_SETTLEMENT_WORDS[answer]}",
            step.id,
            {"settled": "operator", "answer": answer, "key": rendered.key},
        )
        if answer == "done":
            self.store.ledger_done(rendered.key, {"settled": "operator"}, effect_count=0)
            self._output(step.id, StepView("done", {}))
            state.status, state.effect_count = "done", 0
            state.message = "in doubt; the operator confirmed it took effect"
            return StepOutcome(state)
        if answer == "stop":
            state.message = "in doubt; no check, and the operator did not settle it"
            self._stopped = state.message
            return StepOutcome(state, stop=True)
        return None

    def _gate(
        self, step: StepSpec, state: StepState, rendered: RenderedAction, confirmed: bool
    ) -> StepOutcome | None:
        """Lease still held, permission, confirmation. None: go ahead."""
        lost = self._lease_lost(step)
        if lost:
            return self._stop(state, lost)
        if step.destructive:
            assets = self.step_assets(step)
            permission = destructive_permission(self.catalog, self.operator, assets, self.clock())
            basis = "owner or on call"
            if not permission.allowed:
                basis = "break-glass"
                if not self.options.break_glass:
                    return self._stop(state, permission.explain(self.operator), kind="decision")
                self.record(
                    "override",
                    f"{step.id}: break-glass by {self.actor} on {', '.join(permission.denied_assets)}: "
                    f"{self.options.break_glass}",
                    step.id,
                    {"break_glass": self.options.break_glass, "assets": list(assets)},
                )
            asked = confirmed or self.options.yes_destructive
            if not asked and not self.prompter.confirm_destructive(state, assets, rendered.text):
                return self._stop(state, "destructive step declined", kind="decision")
            self.record(
                "decision",
                f"{step.id}: {self.actor} confirmed the destructive step on {', '.join(assets)}",
                step.id,
                {"assets": list(assets), "confirmed": True, "permission": basis},
            )
        elif not (confirmed or self.options.yes) and not self.prompter.confirm_step(
            state, rendered.text
        ):
            return self._stop(state, "step declined", kind="decision")
        return None

    def _lease_lost(self, step: StepSpec) -> str | None:
        """Why this run may no longer change the step's assets, or None. Read from the store
        before every effect, not only from the heartbeat: a takeover shows at once."""
        if self.keeper is None:
            return None
        if self.keeper.lost.is_set():
            return f"lease lost: {self.keeper.lost_reason}"
        for asset in self.step_assets(step):
            lease = self.store.get_lease(asset)
            if lease is None or lease.run_id != self.run_id:
                holder = f"{lease.holder} ({lease.run_id})" if lease else "nobody"
                return f"lease lost: {asset} is now held by {holder}"
        return None

    def _stop(self, state: StepState, why: str, kind: str = "decision") -> StepOutcome:
        state.message = why
        self._stopped = why
        self.record(kind, f"{state.id}: not run: {why}", state.id, {"stopped": why})
        return StepOutcome(state, stop=True)

    def _effect(
        self,
        step: StepSpec,
        state: StepState,
        rendered: RenderedAction,
        entry: LedgerEntry | None,
        confirmed: bool,
    ) -> StepOutcome:
        assert rendered.key is not None and self.run_id is not None
        if entry is None:
            entry = self.store.ledger_intent(
                rendered.key, self.run_id, self.incident_id, step.id, rendered.as_dict()
            )
            if entry.status != "started" or entry.run_id != self.run_id:
                return self._stop(state, f"{entry.run_id} recorded this step at the same moment")
        elif entry.status == "failed":
            self.store.ledger_restart(rendered.key, self.run_id)
        self.record(
            "step_started",
            f"{step.id}: {state.title}",
            step.id,
            {"key": rendered.key, "action": rendered.text, "destructive": step.destructive},
        )
        failpoint(step.id, "before")
        runtime = self._runtime(step, rendered.key, confirmed)
        attempts = step.retries + 1
        result = None
        for attempt in range(1, attempts + 1):
            try:
                result = step.action.execute(rendered, runtime)
                break
            except ActionDeclined as exc:
                self.store.ledger_failed(rendered.key, str(exc))
                return self._stop(state, str(exc))
            except ActionFailed as exc:
                if attempt == attempts:
                    return self._fail(step, state, entry, str(exc), attempt=attempt)
                self.record(
                    "step_failed",
                    f"{step.id}: attempt {attempt} of {attempts} failed: {exc}; retrying",
                    step.id,
                    {"attempt": attempt, "error": str(exc), "retrying": True},
                )
                time.sleep(self.options.retry_backoff * attempt)
        assert result is not None
        failpoint(step.id, "after")
        if step.verify is not None:
            try:
                verified, _shown = self._check(step, step.verify)
            except (ActionFailed, RunbookError) as exc:
                return self._fail(step, state, entry, f"verify could not run: {exc}")
            if not verified.holds:
                return self._fail(
                    step, state, entry, f"verify failed after the effect: {verified.detail}"
                )
        self.store.ledger_done(rendered.key, result.output, effect_count=result.effect_count)
        self._output(step.id, StepView("done", result.output))
        state.status, state.effect_count, state.message = "done", result.effect_count, "done"
        self.record(
            "step_done",
            f"{step.id}: done" + (" (verified)" if step.verify else ""),
            step.id,
            {"key": rendered.key, "output": _brief(result.output)},
        )
        return StepOutcome(state)

    def _fail(
        self,
        step: StepSpec,
        state: StepState,
        entry: LedgerEntry | None,
        error: str,
        *,
        attempt: int | None = None,
        force_stop: bool = False,
    ) -> StepOutcome:
        key = state.key
        if key and self.run_id:
            current = self.store.ledger_get(key)
            if current is not None and current.status == "started":
                self.store.ledger_failed(key, error)
        state.status, state.effect_count, state.message = "failed", 0, error
        data: dict[str, Any] = {"error": error, "on_failure": step.on_failure}
        if attempt:
            data["attempts"] = attempt
        self.record("step_failed", f"{step.id}: failed: {error}", step.id, data)
        if force_stop or step.on_failure == "stop":
            self._stopped = f"{step.id} failed"
            return StepOutcome(state, stop=True)
        if step.on_failure == "continue":
            return StepOutcome(state)
        question = f"{step.id} failed: {error}. Fix it by hand, then confirm the step is done."
        if key and self.prompter.confirm_manual(state, question):
            current = self.store.ledger_get(key)
            if current is None and self.run_id:
                self.store.ledger_intent(key, self.run_id, self.incident_id, step.id, {})
            self.store.ledger_done(key, {"settled": "operator", "after": error}, effect_count=0)
            self._output(step.id, StepView("done", {}))
            state.status, state.message = "done", "failed; fixed by hand (operator confirmed)"
            self.record(
                "decision",
                f"{step.id}: {self.actor} fixed it by hand after the failure",
                step.id,
                {"settled": "operator", "error": error},
            )
            return StepOutcome(state)
        self._stopped = f"{step.id} failed and was not fixed by hand"
        return StepOutcome(state, stop=True)

    # -- dry run -------------------------------------------------------------------------------

    def _dry_step(self, step: StepSpec, state: StepState) -> StepState:
        try:
            rendered = self._render_action(step)
        except RunbookError as exc:
            if "steps" in str(exc):
                state.status = "would_run"
                state.message = "rendered at run time (uses the output of an earlier step)"
                self.record("note", f"{step.id}: {state.message}", step.id)
                return state
            raise
        state.key, state.rendered = rendered.key, rendered
        entry = self.store.ledger_get(rendered.key) if rendered.key else None
        notes: list[str] = []
        if step.destructive:
            assets = self.step_assets(step)
            permission = destructive_permission(self.catalog, self.operator, assets, self.clock())
            notes.append(
                "destructive; you may run it"
                if permission.allowed
                else f"destructive; {permission.explain(self.operator)}"
            )
        if entry is not None and entry.status == "done":
            state.status, state.message = "would_skip", f"already done by {entry.run_id}"
        elif step.check is not None:
            try:
                result, _shown = self._check(step, step.check)
            except (ActionFailed, RunbookError) as exc:
                state.status, state.message = "would_run", f"check could not run: {exc}"
            else:
                if result.holds:
                    state.status = "would_skip"
                    state.message = f"desired state already holds ({result.detail})"
                else:
                    state.status = "would_run"
                    state.message = f"check does not hold ({result.detail})"
        else:
            state.status, state.message = "would_run", "no check; would run"
        if notes:
            state.message += "; " + "; ".join(notes)
        self.record(
            "note",
            f"{step.id}: {state.status.replace('_', ' ')}: {state.message}",
            step.id,
            {"action": rendered.text, "dry_run": True},
        )
        return state

    # -- the end -------------------------------------------------------------------------------

    def finish(self) -> RunReport:
        """Close the run: its status from the steps, leases released, a closing event."""
        if self._finished is not None:
            return self._finished
        steps = tuple(replace(s) for s in self.states.values())
        if self.dry_run:
            status: RunStatus = "dry_run"
        elif any(s.status in ("failed", "in_doubt") for s in steps):
            status = "failed"
        elif self._stopped or any(s.status == "pending" for s in steps):
            status = "interrupted"
        else:
            status = "done"
        if self.run is not None and not self.dry_run:
            try:
                self.store.set_run_status(self.run.id, status)
            finally:
                if self.keeper is not None:
                    self.keeper.release_all()
            counts = _count(steps)
            self.record(
                "note",
                f"{self.run.id} ({self.runbook.id} v{self.runbook.version}) {status}: {counts}"
                + (f"; stopped: {self._stopped}" if self._stopped else ""),
                data={"status": status, "steps": [s.as_dict() for s in steps]},
            )
        self._finished = RunReport(
            self.run_id,
            status,
            self.runbook.id,
            self.runbook.version,
            self.incident_id,
            self.actor,
            self.dry_run,
            steps,
        )
        return self._finished

    def abandon(self) -> None:
        """Stop renewing leases without closing the run (a UI closing mid-run; resume later)."""
        if self.keeper is not None:
            self.keeper.release_all()


_SETTLEMENT_WORDS = {
    "done": "it took effect; not repeated",
    "redo": "it did not take effect; run it again",
    "stop": "unknown; stop here",
}


def _count(steps: Sequence[StepState]) -> str:
    counts: dict[str, int] = {}
    for s in steps:
        counts[s.status] = counts.get(s.status, 0) + 1
    return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in counts.items())


def _brief(output: Mapping[str, Any]) -> dict[str, Any]:
    """The output as the timeline keeps it: long text cut, so events stay small."""
    brief: dict[str, Any] = {}
    for key, value in output.items():
        if isinstance(value, str) and len(value) > 500:
            value = value[-500:]
        elif isinstance(value, list) and len(value) > 10:
            value = value[:10]
        brief[key] = value
    return brief
