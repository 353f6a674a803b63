"""`airflow`: pause, clear, trigger and set the state of a pipeline, through Airflow 3's REST API
v2 or Airflow 2's stable REST API v1 (the calls and their differences: `airflow_api`).

A backfill after a bad load is "pause the DAG, clear the failed runs of the window, trigger a
fresh run, unpause": each operation here knows the state it wants, so the same fields serve as
the step's `check:` (a paused DAG is not paused twice), its `verify:` and its preview.

- `pause` / `unpause`: PATCH `dags/{dag}` `is_paused`; check: the DAG's `is_paused`.
- `clear`: POST `dags/{dag}/clearTaskInstances` for a date range (the runs' logical dates) or
  one run, `only_failed` (Airflow's default) and `downstream`. The preview is Airflow's own
  `dry_run`: the task instances it would clear. The check holds when no task instance of the
  range is failed (what a clear is for), found by the same dry run with `only_failed`.
- `trigger`: POST `dags/{dag}/dagRuns` with a `dag_run_id` made from the incident, runbook and
  step (or given as `run_id`), so a repeat (a resumed run, a second operator) gets 409 Conflict:
  the run exists, the step is done, nothing runs twice. The preview shows the conf. Check: the
  run exists (or, with `expect`, is in that state).
- `set_state`: PATCH a task instance's state; check: its state.
- `run_state`: reads a run's state (a check: "the backfill run succeeded").

Credentials: a token from the connection, or a user and password: exchanged at `/auth/token`
for a JWT on Airflow 3 (its auth managers), sent as basic auth to Airflow 2; none when the
server needs none.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from runbooks.actions.airflow_api import Airflow, as_json
from runbooks.actions.base import (
    MISSING,
    Action,
    ActionFailed,
    ActionResult,
    ActionRuntime,
    CheckResult,
    KeyFunction,
    Preview,
    RenderedAction,
    expectation_met,
)
from runbooks.actions.service import check_operation_fields
from runbooks.templating import Renderer

Operation = Literal["pause", "unpause", "clear", "trigger", "set_state", "run_state"]
TaskState = Literal[
    "success", "failed", "skipped", "upstream_failed", "removed", "up_for_retry", "queued"
]
FAILED_STATES = ("failed", "upstream_failed")

NEEDS: dict[str, tuple[str, ...]] = {
    "pause": (),
    "unpause": (),
    "clear": (),
    "trigger": (),
    "set_state": ("run_id", "task", "state"),
    "run_state": ("run_id",),
}
ACCEPTS: dict[str, tuple[str, ...]] = {
    "clear": ("start_date", "end_date", "run_id", "tasks", "only_failed", "downstream"),
    "trigger": ("run_id", "conf", "logical_date"),
    "set_state": ("downstream",),
}
OPTIONAL_FIELDS = (
    "run_id",
    "task",
    "tasks",
    "state",
    "start_date",
    "end_date",
    "only_failed",
    "downstream",
    "conf",
    "logical_date",
)
_RUN_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.:+-]")


class AirflowAction(Action):
    """`{type: airflow, connection: airflow, operation: clear, dag: daily_features,
    start_date: ..., end_date: ..., only_failed: true, downstream: true}`."""

    type_name: ClassVar[str] = "airflow"
    checkable: ClassVar[bool] = True

    type: Literal["airflow"]
    connection: str = Field(min_length=1)
    operation: Operation
    dag: str = Field(min_length=1)
    run_id: str | None = None
    task: str | None = None
    tasks: list[str] | None = None
    state: TaskState | None = None
    start_date: str | None = None
    end_date: str | None = None
    only_failed: bool | None = None
    downstream: bool | None = None
    conf: dict[str, Any] | None = None
    logical_date: str | None = None

    @model_validator(mode="after")
    def _fields_of_the_operation(self) -> AirflowAction:
        check_operation_fields(self, self.operation, NEEDS, ACCEPTS, OPTIONAL_FIELDS)
        if self.operation == "clear":
            if self.run_id is not None and (self.start_date or self.end_date):
                raise ValueError("clear takes a 'run_id' or a date range, not both")
            if self.tasks is not None and not self.tasks:
                raise ValueError("'tasks' is empty; leave it out to clear every task")
        return self

    def reads_only(self) -> bool:
        return self.operation == "run_state"

    # -- render --------------------------------------------------------------------------------

    def render(self, renderer: Renderer, key: KeyFunction | None = None) -> RenderedAction:
        payload: dict[str, Any] = {
            "connection": self.connection,
            "operation": self.operation,
            "dag": renderer.text(self.dag, field_name="dag"),
        }
        for name in ("run_id", "task", "state"):
            if getattr(self, name) is not None:
                payload[name] = renderer.text(getattr(self, name), field_name=name)
        for name in ("start_date", "end_date", "logical_date"):
            if getattr(self, name) is not None:
                when = renderer.value(getattr(self, name), field_name=name)
                payload[name] = _instant(name, when).isoformat()
        if self.tasks is not None:
            payload["tasks"] = [
                renderer.text(t, field_name=f"tasks[{i}]") for i, t in enumerate(self.tasks)
            ]
        if self.operation == "clear":
            payload["only_failed"] = True if self.only_failed is None else self.only_failed
            payload["downstream"] = bool(self.downstream)
        if self.operation == "set_state":
            payload["downstream"] = bool(self.downstream)
        if self.operation == "trigger":
            payload["conf"] = renderer.value(self.conf or {}, field_name="conf")
        if (
            "start_date" in payload
            and "end_date" in payload
            and payload["start_date"] > payload["end_date"]
        ):
            raise ActionFailed(
                f"start_date {payload['start_date']} is after end_date {payload['end_date']}"
            )
        step_key = key(payload) if key else None
        return RenderedAction("airflow", _describe(payload), payload, step_key)

    # -- effect, preview, check ----------------------------------------------------------------

    def execute(self, rendered: RenderedAction, runtime: ActionRuntime) -> ActionResult:
        p = rendered.payload
        airflow = Airflow(p["connection"], runtime)
        op, dag = p["operation"], p["dag"]
        if op in ("pause", "unpause"):
            wanted = op == "pause"
            before = airflow.is_paused(dag)
            if before != wanted:
                airflow.set_paused(dag, wanted)
            output = {"dag": dag, "is_paused": wanted, "was_paused": before}
            return ActionResult(
                output,
                effect_count=int(before != wanted),
                changed=_pause_change(dag, before, wanted),
            )
        if op == "clear":
            cleared = airflow.clear(p, dry_run=False)
            runs = sorted({ti["run_id"] for ti in cleared})
            output = {"dag": dag, "cleared": cleared, "runs": runs}
            return ActionResult(
                output,
                effect_count=len(cleared),
                changed=f"cleared {_count(cleared, 'task instance')} of {_count(runs, 'run')} "
                f"of {dag}" + (f": {_listing(cleared)}" if cleared else ""),
            )
        if op == "trigger":
            run_id = p.get("run_id") or derived_run_id(runtime)
            created, run = airflow.trigger(dag, run_id, p.get("logical_date"), p["conf"])
            output = {
                "dag": dag,
                "dag_run_id": run_id,
                "state": run.get("state"),
                "created": created,
            }
            if created:
                changed = f"triggered {dag} run {run_id} ({run.get('state')})"
            else:
                changed = (
                    f"{dag} run {run_id} already exists ({run.get('state')}); not triggered again"
                )
            return ActionResult(output, effect_count=int(created), changed=changed)
        if op == "set_state":
            airflow.can_set(p["state"])
            before_state = airflow.task_state(dag, p["run_id"], p["task"])
            airflow.set_task_state(dag, p["run_id"], p["task"], p["state"], p["downstream"])
            output = {
                "dag": dag,
                "dag_run_id": p["run_id"],
                "task": p["task"],
                "state": p["state"],
                "previous": before_state,
            }
            return ActionResult(
                output,
                effect_count=int(before_state != p["state"]),
                changed=f"{p['task']} in {p['run_id']}: {before_state or '(none)'} → {p['state']}",
            )
        run = airflow.run(dag, p["run_id"])
        return ActionResult(
            {"dag": dag, "dag_run_id": p["run_id"], "state": run.get("state") if run else None},
            effect_count=0,
        )

    def preview(self, rendered: RenderedAction, runtime: ActionRuntime) -> Preview | None:
        p = rendered.payload
        op, dag = p["operation"], p["dag"]
        if op == "run_state":
            return None
        airflow = Airflow(p["connection"], runtime)
        if op in ("pause", "unpause"):
            before = airflow.is_paused(dag)
            return Preview(
                _pause_change(dag, before, op == "pause"),
                {"dag": dag, "is_paused": before},
            )
        if op == "clear":
            listed = airflow.with_states(dag, airflow.clear(p, dry_run=True))
            runs = sorted({ti["run_id"] for ti in listed})
            text = f"clears {_count(listed, 'task instance')} of {_count(runs, 'run')} of {dag}" + (
                f": {_listing(listed)}" if listed else " (nothing matches)"
            )
            return Preview(text, {"dag": dag, "task_instances": listed, "runs": runs})
        if op == "trigger":
            run_id = p.get("run_id") or derived_run_id(runtime)
            existing = airflow.run(dag, run_id)
            conf = p["conf"]
            if existing is not None:
                text = (
                    f"{dag} run {run_id} already exists ({existing.get('state')}); "
                    "it will not be triggered again"
                )
            else:
                text = f"triggers {dag} as run {run_id} with conf {as_json(conf)}"
                if p.get("logical_date"):
                    text += f" for logical date {p['logical_date']}"
            return Preview(text, {"dag": dag, "dag_run_id": run_id, "conf": conf})
        airflow.can_set(p["state"])
        before_state = airflow.task_state(dag, p["run_id"], p["task"])
        return Preview(
            f"{p['task']} in {p['run_id']}: {before_state or '(none)'} → {p['state']}"
            + (" (and downstream)" if p["downstream"] else ""),
            {"dag": dag, "task": p["task"], "from": before_state, "to": p["state"]},
        )

    def check(self, rendered: RenderedAction, runtime: ActionRuntime, expect: Any) -> CheckResult:
        p = rendered.payload
        airflow = Airflow(p["connection"], runtime)
        op, dag = p["operation"], p["dag"]
        if op in ("pause", "unpause"):
            observed: Any = airflow.is_paused(dag)
            wanted: Any = op == "pause"
            detail = f"{dag} is_paused = {str(observed).lower()}"
        elif op == "clear":
            failed = airflow.clear({**p, "only_failed": True}, dry_run=True)
            observed, wanted = len(failed), 0
            detail = f"{_count(failed, 'failed task instance')} in the range"
        elif op in ("trigger", "run_state"):
            run_id = p.get("run_id") or derived_run_id(runtime)
            run = airflow.run(dag, run_id)
            observed = run.get("state") if run else None
            detail = f"{dag} run {run_id}: {observed or 'does not exist'}"
            if expect is MISSING:
                return CheckResult(observed is not None, observed, detail)
            return CheckResult(expectation_met(observed, expect), observed, detail)
        else:
            observed = airflow.task_state(dag, p["run_id"], p["task"])
            wanted = p["state"]
            detail = f"{p['task']} in {p['run_id']}: {observed or '(none)'}"
        holds = observed == wanted if expect is MISSING else expectation_met(observed, expect)
        return CheckResult(holds, observed, detail)


def derived_run_id(runtime: ActionRuntime) -> str:
    """The `dag_run_id` of a trigger step that names none: the same for the same incident,
    runbook and step, so a repeat is Airflow's 409 instead of a second run."""
    labels = runtime.labels
    parts = [
        "oncall",
        labels.get("incident") or "no-incident",
        labels.get("runbook") or "runbook",
        labels.get("step") or "step",
    ]
    return "__".join(_RUN_ID_UNSAFE.sub("-", part) for part in parts)


def _instant(name: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ActionFailed(f"{name} must be an ISO 8601 time, not {value!r}") from exc
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _pause_change(dag: str, before: bool, paused: bool) -> str:
    word = {True: "paused", False: "unpaused"}
    if before == paused:
        return f"{dag}: already {word[paused]}, nothing to change"
    return f"{dag}: {word[before]} → {word[paused]}"


def _count(items: Any, noun: str) -> str:
    n = len(items)
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _listing(tis: list[dict[str, Any]], limit: int = 8) -> str:
    shown = [
        f"{ti['task']} in {ti['run_id']}" + (f" ({ti['state']})" if ti["state"] else "")
        for ti in tis[:limit]
    ]
    if len(tis) > limit:
        shown.append(f"… {len(tis) - limit} more")
    return ", ".join(shown)


def _describe(p: dict[str, Any]) -> str:
    head = f"airflow on connection {p['connection']!r}: "
    op, dag = p["operation"], p["dag"]
    if op in ("pause", "unpause"):
        return head + f"{op} DAG {dag!r}"
    if op == "clear":
        what = "failed task instances" if p["only_failed"] else "task instances"
        if p.get("tasks"):
            what += f" of tasks {', '.join(p['tasks'])}"
        text = head + f"clear the {what} of DAG {dag!r}"
        if p.get("run_id"):
            text += f" in run {p['run_id']}"
        if p.get("start_date") or p.get("end_date"):
            text += (
                f" with logical dates from {p.get('start_date', 'the first run')} "
                f"to {p.get('end_date', 'the last run')}"
            )
        return text + (", and their downstream tasks" if p["downstream"] else "")
    if op == "trigger":
        run_id = p.get("run_id") or "oncall__<incident>__<runbook>__<step>"
        text = head + f"trigger DAG {dag!r} as run {run_id} with conf {as_json(p['conf'])}"
        if p.get("logical_date"):
            text += f" for logical date {p['logical_date']}"
        return text
    if op == "set_state":
        text = head + f"set task {p['task']!r} of DAG {dag!r} run {p['run_id']} to {p['state']}"
        return text + (", and its downstream tasks" if p["downstream"] else "")
    return head + f"read the state of DAG {dag!r} run {p['run_id']}"
