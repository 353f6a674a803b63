"""Talking to a service a connection names (MLflow, Airflow): its credential, retries, errors.

The `mlflow` and `airflow` actions share one way of calling a REST API, so every service step
behaves the same when something goes wrong:

- the connection's URL comes from `oncall.toml` `[connections]`; its credential (a bearer token,
  or a user and password) is read from the environment variable or file the entry names when
  the step runs, kept in memory for the call, and redacted from every message and output;
- a 4xx answer fails the step at once with the service's own message (a wrong model name, a
  version that does not exist: repeating it cannot help);
- a 5xx answer, a timeout or a refused connection is retried with exponential backoff until the
  step's timeout is spent, then the step fails saying how often it tried and what it got last;
- the caller names the statuses it understands itself (404 for "not set", 409 for "already
  triggered"), which come back as answers, not errors.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from runbooks.actions.base import ActionFailed, ActionRuntime, ActionTimedOut, truncate

#: Backoff between attempts: FIRST_BACKOFF, doubled each time, never above MAX_BACKOFF.
FIRST_BACKOFF = 0.25
MAX_BACKOFF = 4.0
REDACTED = "[redacted]"


class ServiceRefused(ActionFailed):
    """The service answered 4xx: the request is wrong (unknown model or DAG, bad version)."""

    def __init__(self, message: str, status: int, answer: str = "") -> None:
        super().__init__(message)
        self.status = status
        #: The service's own words (redacted), for a caller that says the refusal its own way.
        self.answer = answer


class ServiceUnavailable(ActionFailed):
    """The service answered 5xx or not at all for as long as the step's timeout allowed."""


class ServiceTimedOut(ServiceUnavailable, ActionTimedOut):
    """The last attempt got no answer within what was left of the step's timeout."""


class CredentialMissing(ActionFailed):
    """The connection names a credential source (variable, file) that gives nothing."""


@dataclass(frozen=True)
class Credential:
    """A credential read for one step: a bearer token, or a user and password."""

    token: str | None = None
    username: str | None = None
    password: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.token, self.password) if s)


def read_credential(connection: str, source: Mapping[str, str], workdir: Path) -> Credential:
    """The credential `source` names ({"token_env": ...}, {"username", "password_file"}), read
    now. A file inside the workspace is refused: the workspace is shared and versioned. Other
    settings of the connection in `source` (Airflow's `api_version`) are not read here."""
    if not source:
        return Credential()
    token = _read_secret(connection, "token", source, workdir)
    password = _read_secret(connection, "password", source, workdir)
    return Credential(token=token, username=source.get("username"), password=password)


def _read_secret(
    connection: str, kind: str, source: Mapping[str, str], workdir: Path
) -> str | None:
    where = f"connection {connection!r}"
    env_name, file_name = source.get(f"{kind}_env"), source.get(f"{kind}_file")
    if env_name:
        value = os.environ.get(env_name, "")
        if not value.strip():
            raise CredentialMissing(
                f"{where}: its {kind} comes from the environment variable ${env_name}, "
                "which is not set (export it, then run the step again)"
            )
        return value.strip()
    if file_name:
        path = Path(file_name).expanduser()
        if not path.is_absolute():
            raise CredentialMissing(
                f"{where}: {kind}_file must be an absolute path, not {file_name!r}"
            )
        if path.resolve().is_relative_to(workdir.resolve()):
            raise CredentialMissing(
                f"{where}: {kind}_file {path} is inside the workspace; keep credentials "
                "outside it (the workspace is shared and versioned)"
            )
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CredentialMissing(
                f"{where}: its {kind} comes from {path}, which cannot be read "
                f"({exc.strerror or exc})"
            ) from exc
        if not value:
            raise CredentialMissing(f"{where}: its {kind} file {path} is empty")
        return value
    return None


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced, so no message, output or event can carry one."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def shown_url(url: str) -> str:
    """The URL as it may be printed: any `user:password@` removed."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


@dataclass
class Reply:
    """A service's answer: the status and the parsed JSON body (text when it is not JSON)."""

    status: int
    body: Any

    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


@dataclass
class ServiceClient:
    """One step's calls to one service, within that step's timeout."""

    service: str
    connection: str
    runtime: ActionRuntime
    credential: Credential = field(init=False)
    base_url: str = field(init=False)
    _deadline: float = field(init=False)
    _headers: dict[str, str] = field(init=False, default_factory=dict)
    _auth: tuple[str, str] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        url = self.runtime.connections.get(self.connection)
        if url is None:
            known = ", ".join(sorted(self.runtime.connections)) or "none"
            raise ActionFailed(
                f"no connection named {self.connection!r} in oncall.toml [connections] "
                f"(known: {known})"
            )
        if not url.startswith(("http://", "https://")):
            raise ActionFailed(
                f"connection {self.connection!r} is not an http(s) URL, so it cannot reach "
                f"{self.service}"
            )
        self.base_url = url.rstrip("/")
        source = self.runtime.credentials.get(self.connection, {})
        self.credential = read_credential(self.connection, source, self.runtime.workdir)
        self._deadline = time.monotonic() + self.runtime.timeout
        if self.credential.token:
            self._headers["Authorization"] = f"Bearer {self.credential.token}"
        elif self.credential.username and self.credential.password:
            self._auth = (self.credential.username, self.credential.password)

    @property
    def where(self) -> str:
        return f"{self.service} at {shown_url(self.base_url)}"

    def set_bearer(self, token: str) -> None:
        """Use a token obtained by logging in (Airflow's /auth/token) for the next calls."""
        self._headers["Authorization"] = f"Bearer {token}"
        self._auth = None
        self.credential = Credential(
            token=token, username=self.credential.username, password=self.credential.password
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        allow: Iterable[int] = (),
    ) -> Reply:
        """Send one request, retrying 5xx and transport failures until the step's timeout.

        2xx and the statuses in `allow` are answers; any other 4xx raises `ServiceRefused`
        with the service's message; exhausting the timeout raises `ServiceUnavailable`."""
        allowed = set(allow)
        attempt, backoff = 0, FIRST_BACKOFF
        request = f"{method} {path}"
        while True:
            attempt += 1
            left = self._deadline - time.monotonic()
            try:
                with httpx.Client(timeout=max(left, 0.05), auth=self._auth) as client:
                    response = client.request(
                        method,
                        self.base_url + path,
                        params=dict(params) if params else None,
                        json=json,
                        headers=self._headers,
                    )
            except httpx.TimeoutException:
                last, timed_out = "no answer in time", True
            except httpx.TransportError as exc:
                last, timed_out = f"cannot connect ({_transport_reason(exc)})", False
            else:
                body = _body(response)
                if 200 <= response.status_code < 300 or response.status_code in allowed:
                    return Reply(response.status_code, body)
                if response.status_code < 500:
                    answer = self._redact(service_message(body))
                    raise ServiceRefused(
                        f"{self.where} refused {self._redact(request)}: "
                        f"HTTP {response.status_code}: {answer}",
                        response.status_code,
                        answer,
                    )
                last = f"HTTP {response.status_code}: {service_message(body)}"
                timed_out = False
            left = self._deadline - time.monotonic()
            if left <= backoff:
                kind = ServiceTimedOut if timed_out else ServiceUnavailable
                raise kind(
                    self._redact(
                        f"{self.where} did not complete {request} within the step's timeout of "
                        f"{self.runtime.timeout:g}s ({attempt} attempt"
                        f"{'s' if attempt > 1 else ''}; last: {last})"
                    )
                )
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _redact(self, text: str) -> str:
        return redact(text, self.credential.secrets)


def service_message(body: Any) -> str:
    """The service's own words from an error body: MLflow's `error_code: message`, Airflow's
    `detail` (a text, a validation list, or a reason/message table)."""
    if isinstance(body, dict):
        if "message" in body and "error_code" in body:
            return f"{body['error_code']}: {body['message']}"
        # Airflow 2 answers a refused login with `"detail": null` and the reason in `title`
        detail = next(
            (body[k] for k in ("detail", "message", "title") if body.get(k) is not None), None
        )
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if isinstance(item, dict):
                    loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                    parts.append(f"{loc}: {item.get('msg', item)}" if loc else str(item.get("msg")))
                else:
                    parts.append(str(item))
            return "; ".join(parts)
        if isinstance(detail, dict):
            return str(detail.get("message") or detail.get("reason") or detail)
    text = body if isinstance(body, str) else str(body)
    return truncate(text.strip(), 300) or "(empty body)"


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return truncate(response.text, 2000)


def _transport_reason(exc: httpx.TransportError) -> str:
    cause = exc.__cause__ or exc.__context__
    reason = str(exc) or type(exc).__name__
    if cause is not None and str(cause) and str(cause) not in reason:
        reason = f"{reason}: {cause}"
    return truncate(reason, 200)


def check_operation_fields(
    action: Any,
    operation: str,
    needs: Mapping[str, tuple[str, ...]],
    accepts: Mapping[str, tuple[str, ...]],
    optional_fields: Iterable[str],
) -> None:
    """`ValueError` when an operation of a service action lacks a field it needs or is given
    one it does not use: one rule for every service action's YAML, checked at load."""
    needed, accepted = needs[operation], accepts.get(operation, ())
    missing = [name for name in needed if getattr(action, name) is None]
    if missing:
        raise ValueError(f"{operation} needs {', '.join(repr(m) for m in missing)}")
    unused = [
        name
        for name in optional_fields
        if getattr(action, name) is not None and name not in needed + accepted
    ]
    if unused:
        raise ValueError(f"{operation} does not use {', '.join(repr(u) for u in unused)}")


def quote(value: str) -> str:
    """One path segment: a value can never add a segment, a query or a host."""
    return urllib.parse.quote(value, safe="")
