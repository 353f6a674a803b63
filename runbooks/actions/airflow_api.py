"""The REST calls the `airflow` action makes, for Airflow 3 (REST API v2) and Airflow 2 (v1).

Both APIs have the endpoints the operations need under nearly the same names; they differ in
three places, kept here so the action itself is written once:

- **login**: Airflow 3's auth managers (simple, FAB) exchange a user and password for a JWT at
  `POST /auth/token`; Airflow 2's stable API takes the user and password on every request
  (the `basic_auth` backend). A bearer token is sent as it is to either.
- **set_state**: Airflow 2 sets a task instance through `updateTaskInstancesState` and only to
  `success`, `failed` or `skipped`; any other state is refused before a request is made, naming
  the API, so a step is never a silent no-op on a server that cannot do it.
- **small shapes**: Airflow 2 refuses a `logical_date` of null (it is left out) and its clear
  answers do not carry the task instances' states (the preview reads them per run).

Which API a connection speaks is its `api_version` (`v1` or `v2`) when the `[connections.NAME]`
table gives one, or found once per run and server: `GET /api/v2/version`, and when that is 404,
`GET /api/v1/version` (both answer without credentials). Found, not configured, by default so a
connection keeps working through an upgrade from Airflow 2 to 3 without editing the workspace;
given when a proxy hides the version endpoints or a run must not make the extra request.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from runbooks.actions.base import ActionFailed, ActionRuntime
from runbooks.actions.service import Reply, ServiceClient, ServiceRefused, quote

ApiVersion = Literal["v1", "v2"]
API_VERSIONS: tuple[ApiVersion, ...] = ("v1", "v2")
#: The only states Airflow 2's API can give a task instance (its `UpdateTaskState`).
V1_TASK_STATES = ("success", "failed", "skipped")
#: (run, base URL) -> the API version found there; a run asks each server once.
_FOUND: dict[tuple[str, str], ApiVersion] = {}
_FOUND_LIMIT = 256


class Airflow:
    """One step's calls to one Airflow, logged in once when Airflow 3 is given a user."""

    def __init__(self, connection: str, runtime: ActionRuntime) -> None:
        self.client = ServiceClient("Airflow", connection, runtime)
        self.connection = connection
        self.source = dict(runtime.credentials.get(connection, {}))
        self.api = api_version(self.client, self.source, runtime.labels.get("run", ""))
        self.prefix = f"/api/{self.api}"
        credential = self.client.credential
        if self.api == "v2" and credential.username and credential.password:
            self._log_in(credential.username, credential.password)

    @property
    def where(self) -> str:
        return self.client.where

    def _log_in(self, username: str, password: str) -> None:
        reply = self.call("POST", "/auth/token", json={"username": username, "password": password})
        token = reply.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise ActionFailed(f"{self.where}: /auth/token gave no access_token")
        self.client.set_bearer(token)

    def call(self, method: str, path: str, **kw: Any) -> Reply:
        """`ServiceClient.call`, with a refused login said as one plain sentence."""
        try:
            return self.client.call(method, path, **kw)
        except ServiceRefused as exc:
            if exc.status != 401:
                raise
            raise ServiceRefused(self._refused_login(exc.answer), 401, exc.answer) from exc

    def _refused_login(self, detail: str) -> str:
        user = self.source.get("username")
        if user is None and not any(k.startswith("token_") for k in self.source):
            return (
                f"{self.where} needs a login (HTTP 401: {detail}), and connection "
                f"{self.connection!r} names no credential: give it 'username' with "
                "'password_env' or 'password_file', or 'token_env' or 'token_file'"
            )
        origin = next(
            (
                f"${value}" if key.endswith("_env") else str(value)
                for key, value in self.source.items()
                if key in ("password_env", "password_file", "token_env", "token_file")
            ),
            "its source",
        )
        who = f"user {user!r}" if user else "the token"
        return (
            f"{self.where} refused the credentials of connection {self.connection!r} "
            f"({who}, from {origin}): HTTP 401: {detail}"
        )

    # -- DAGs and runs ---------------------------------------------------------------------

    def _dag(self, dag: str) -> str:
        return f"{self.prefix}/dags/{quote(dag)}"

    def is_paused(self, dag: str) -> bool:
        return bool(self.call("GET", self._dag(dag)).json().get("is_paused"))

    def set_paused(self, dag: str, paused: bool) -> None:
        self.call(
            "PATCH",
            self._dag(dag),
            params={"update_mask": "is_paused"},
            json={"is_paused": paused},
        )

    def clear(self, p: dict[str, Any], *, dry_run: bool) -> list[dict[str, Any]]:
        """Clear (or, with `dry_run`, list) the task instances the payload selects."""
        self.is_paused(p["dag"])  # an unknown DAG is the service's 404, said plainly
        body: dict[str, Any] = {
            "dry_run": dry_run,
            "only_failed": p.get("only_failed", True),
            "include_downstream": p.get("downstream", False),
            "reset_dag_runs": True,
        }
        for name in ("start_date", "end_date"):
            if p.get(name):
                body[name] = p[name]
        if p.get("run_id"):
            body["dag_run_id"] = p["run_id"]
        if p.get("tasks"):
            body["task_ids"] = p["tasks"]
        reply = self.call("POST", f"{self._dag(p['dag'])}/clearTaskInstances", json=body)
        return [
            {
                "run_id": ti.get("dag_run_id"),
                "task": ti.get("task_id"),
                "map_index": ti.get("map_index", -1),
                "state": ti.get("state"),
            }
            for ti in reply.json().get("task_instances", [])
        ]

    def with_states(self, dag: str, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`listed` (a clear's answer) with each task instance's current state: Airflow 3
        gives it; for Airflow 2 it is read once per run."""
        if self.api == "v2":
            return listed
        states: dict[str, dict[str, Any]] = {}
        for run_id in sorted({ti["run_id"] for ti in listed}):
            found = self.call("GET", f"{self._dag(dag)}/dagRuns/{quote(run_id)}/taskInstances")
            states[run_id] = {
                ti.get("task_id"): ti.get("state") for ti in found.json().get("task_instances", [])
            }
        return [{**ti, "state": states[ti["run_id"]].get(ti["task"])} for ti in listed]

    def run(self, dag: str, run_id: str) -> dict[str, Any] | None:
        """The DAG run, or None when it does not exist (the DAG must)."""
        self.is_paused(dag)
        reply = self.call("GET", f"{self._dag(dag)}/dagRuns/{quote(run_id)}", allow=(404,))
        return None if reply.status == 404 else reply.json()

    def trigger(
        self, dag: str, run_id: str, logical_date: str | None, conf: dict[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        """Create the run; (False, the existing run) when it already exists (409)."""
        body: dict[str, Any] = {"dag_run_id": run_id, "logical_date": logical_date, "conf": conf}
        if self.api == "v1" and logical_date is None:
            del body["logical_date"]  # Airflow 2: "may not be null"; left out, it is now
        reply = self.call("POST", f"{self._dag(dag)}/dagRuns", json=body, allow=(409,))
        if reply.status != 409:
            return True, reply.json()
        existing = self.run(dag, run_id)
        if existing is None:
            raise ActionFailed(
                f"{self.where} answered 409 Conflict for run {run_id} of {dag}, "
                "but there is no such run (another run has that logical date?)"
            )
        if (existing.get("conf") or {}) != conf:
            raise ActionFailed(
                f"{dag} run {run_id} already exists with conf {as_json(existing.get('conf'))}, "
                f"not {as_json(conf)}; give this step a different run_id to trigger another"
            )
        return False, existing

    # -- task instances --------------------------------------------------------------------

    def _task(self, dag: str, run_id: str, task: str) -> str:
        return f"{self._dag(dag)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task)}"

    def task_state(self, dag: str, run_id: str, task: str) -> str | None:
        state = self.call("GET", self._task(dag, run_id, task)).json().get("state")
        return str(state) if state is not None else None

    def can_set(self, state: str) -> None:
        """`ActionFailed` before any request when this API cannot give a task that state."""
        if self.api == "v1" and state not in V1_TASK_STATES:
            raise ActionFailed(
                f"{self.where} speaks Airflow 2's REST API (/api/v1), which can set a task "
                f"instance only to {', '.join(V1_TASK_STATES)}, not {state!r}; nothing was "
                "changed"
            )

    def set_task_state(
        self, dag: str, run_id: str, task: str, state: str, downstream: bool
    ) -> None:
        self.can_set(state)
        if self.api == "v2":
            self.call(
                "PATCH",
                self._task(dag, run_id, task),
                json={"new_state": state, "include_downstream": downstream},
            )
            return
        self.call(
            "POST",
            f"{self._dag(dag)}/updateTaskInstancesState",
            json={
                "dry_run": False,
                "task_id": task,
                "dag_run_id": run_id,
                "new_state": state,
                "include_upstream": False,
                "include_downstream": downstream,
                "include_future": False,
                "include_past": False,
            },
        )


def api_version(client: ServiceClient, source: dict[str, str], run: str) -> ApiVersion:
    """The connection's `api_version`, or the one its server answers to (asked once per run)."""
    given = source.get("api_version")
    if given is not None:
        if given not in API_VERSIONS:  # the workspace check refuses it first; a caller may not
            raise ActionFailed(
                f"connection {client.connection!r}: api_version must be v1 (Airflow 2) or v2 "
                f"(Airflow 3), not {given!r}"
            )
        return "v1" if given == "v1" else "v2"
    key = (run, client.base_url)
    if key in _FOUND:
        return _FOUND[key]
    found: ApiVersion | None = None
    for version in ("v2", "v1"):
        reply = client.call("GET", f"/api/{version}/version", allow=(404,))
        if reply.status != 404 and "version" in reply.json():
            found = "v2" if version == "v2" else "v1"
            break
    if found is None:
        raise ActionFailed(
            f"{client.where} does not look like Airflow: neither /api/v2/version (Airflow 3) "
            "nor /api/v1/version (Airflow 2) answered; check the connection's URL, or give "
            f'[connections.{client.connection}] api_version = "v1" or "v2"'
        )
    if len(_FOUND) >= _FOUND_LIMIT:
        _FOUND.clear()
    _FOUND[key] = found
    return found


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
