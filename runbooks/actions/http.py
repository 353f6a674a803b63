"""`http`: one request with httpx, carrying an `Idempotency-Key` derived from the step key.

The same step of the same incident always sends the same key, so a service that honours the
header turns a repeated request (a resumed run, a second operator) into a no-op. Values inserted
into the URL are percent-encoded: a parameter cannot add a path segment, a query or a host.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

import httpx
from pydantic import ConfigDict, Field, field_validator

from runbooks.actions.base import (
    Action,
    ActionFailed,
    ActionResult,
    ActionRuntime,
    ActionTimedOut,
    CheckResult,
    KeyFunction,
    RenderedAction,
    expectation_met,
    truncate,
)
from runbooks.templating import Renderer

IDEMPOTENCY_HEADER = "Idempotency-Key"


class HttpAction(Action):
    """`{type: http, method: POST, url: ..., headers: {}, query: {}, json: {...}}`."""

    type_name: ClassVar[str] = "http"
    checkable: ClassVar[bool] = True

    type: Literal["http"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    ok_status: list[int] = Field(default_factory=list, description="empty: any 2xx")
    field: str | None = Field(
        default=None, description="for checks: dotted path in the JSON response to compare"
    )

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    def render(self, renderer: Renderer, key: KeyFunction | None = None) -> RenderedAction:
        url = renderer.url(self.url, field_name="url")
        if not url.startswith(("http://", "https://")):
            raise ActionFailed(f"url must start with http:// or https://, got {url!r}")
        payload: dict[str, Any] = {
            "method": self.method,
            "url": url,
            "headers": {
                k: renderer.text(v, field_name=f"headers.{k}") for k, v in self.headers.items()
            },
            "query": {k: renderer.value(v, field_name=f"query.{k}") for k, v in self.query.items()},
            "json": renderer.value(self.json_body, field_name="json"),
            "ok_status": list(self.ok_status),
        }
        if self.field:
            payload["field"] = self.field
        step_key = key(payload) if key else None
        request = httpx.Request(payload["method"], url, params=payload["query"] or None)
        lines = [f"{self.method} {request.url}"]
        if step_key:
            lines.append(f"{IDEMPOTENCY_HEADER}: {step_key}")
        lines += [f"{k}: {v}" for k, v in payload["headers"].items()]
        if payload["json"] is not None:
            lines += ["", json.dumps(payload["json"], indent=2, sort_keys=True)]
        return RenderedAction("http", "\n".join(lines), payload, step_key)

    def execute(self, rendered: RenderedAction, runtime: ActionRuntime) -> ActionResult:
        response = _send(rendered, runtime)
        _require_ok(response, rendered.payload["ok_status"])
        return ActionResult(_describe(response))

    def check(self, rendered: RenderedAction, runtime: ActionRuntime, expect: Any) -> CheckResult:
        if rendered.payload["method"] not in ("GET", "HEAD"):  # schema refuses it too
            raise ActionFailed(f"an http check only reads; {rendered.payload['method']} is refused")
        response = _send(rendered, runtime)
        status_ok = _status_ok(response.status_code, rendered.payload["ok_status"])
        observed: Any = response.status_code
        path = rendered.payload.get("field")
        if status_ok and path:
            observed = _dig(_json_or_text(response), path)
        holds = status_ok and expectation_met(observed if path else True, expect)
        return CheckResult(holds, observed, f"HTTP {response.status_code}")


def _send(rendered: RenderedAction, runtime: ActionRuntime) -> httpx.Response:
    payload = rendered.payload
    headers = dict(payload["headers"])
    if rendered.key or runtime.idempotency_key:
        headers[IDEMPOTENCY_HEADER] = rendered.key or runtime.idempotency_key or ""
    try:
        with httpx.Client(timeout=runtime.timeout) as client:
            return client.request(
                payload["method"],
                payload["url"],
                params=payload["query"] or None,
                headers=headers,
                json=payload["json"],
            )
    except httpx.TimeoutException as exc:
        raise ActionTimedOut(
            f"{payload['method']} {payload['url']}: no answer within {runtime.timeout:g}s"
        ) from exc
    except httpx.HTTPError as exc:
        raise ActionFailed(f"{payload['method']} {payload['url']}: {exc}") from exc


def _status_ok(status: int, ok_status: list[int]) -> bool:
    return status in ok_status if ok_status else 200 <= status < 300


def _require_ok(response: httpx.Response, ok_status: list[int]) -> None:
    if not _status_ok(response.status_code, ok_status):
        body = truncate(response.text, 500)
        raise ActionFailed(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {body}"
        )


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _describe(response: httpx.Response) -> dict[str, Any]:
    body = _json_or_text(response)
    if isinstance(body, str):
        body = truncate(body, 4000)
    return {"status": response.status_code, "body": body}


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data
