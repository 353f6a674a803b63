"""`notify`: a message to the people to page, by webhook (httpx) or printed for the operator.

The webhook is the step's own `webhook`, else the workspace's `notify_webhook`; with neither, the
message is printed so the operator can paste it. A webhook receives the step key as
`Idempotency-Key`, so a resumed run does not page twice through a service that honours it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field

from runbooks.actions.base import (
    Action,
    ActionFailed,
    ActionResult,
    ActionRuntime,
    KeyFunction,
    RenderedAction,
)
from runbooks.actions.http import IDEMPOTENCY_HEADER
from runbooks.templating import Renderer


class NotifyAction(Action):
    """`{type: notify, message: "...", to: [user:default/ana], webhook: https://...}`."""

    type_name: ClassVar[str] = "notify"

    type: Literal["notify"]
    message: str = Field(min_length=1)
    to: list[str] = Field(default_factory=list)
    webhook: str | None = None

    def render(self, renderer: Renderer, key: KeyFunction | None = None) -> RenderedAction:
        message = renderer.text(self.message, field_name="message")
        to = [renderer.text(t, field_name=f"to[{i}]") for i, t in enumerate(self.to)]
        webhook = renderer.url(self.webhook, field_name="webhook") if self.webhook else None
        payload: dict[str, Any] = {"message": message, "to": to, "webhook": webhook}
        step_key = key(payload) if key else None
        where = f"POST {webhook}" if webhook else "webhook from oncall.toml, else printed"
        recipients = f" to {', '.join(to)}" if to else ""
        return RenderedAction(
            "notify", f"notify{recipients} ({where}): {message}", payload, step_key
        )

    def execute(self, rendered: RenderedAction, runtime: ActionRuntime) -> ActionResult:
        payload = rendered.payload
        webhook = payload["webhook"] or runtime.notify_webhook
        if not webhook:
            recipients = f" [to {', '.join(payload['to'])}]" if payload["to"] else ""
            runtime.say(f"NOTIFY{recipients}: {payload['message']}")
            return ActionResult({"delivered": "printed"})
        body = {"text": payload["message"], "to": payload["to"], **dict(runtime.labels)}
        headers = {}
        if rendered.key:
            headers[IDEMPOTENCY_HEADER] = rendered.key
        try:
            with httpx.Client(timeout=runtime.timeout) as client:
                response = client.post(webhook, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ActionFailed(f"notify webhook {webhook}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise ActionFailed(f"notify webhook {webhook} answered {response.status_code}")
        return ActionResult({"delivered": "webhook", "status": response.status_code})
