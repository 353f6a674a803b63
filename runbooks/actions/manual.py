"""`manual`: an instruction the operator carries out and confirms.

The confirmation comes through the callback the CLI or the TUI gives the engine (a prompt, a
modal); a run driven by a script without a human answers through `--yes`. A declined
confirmation does nothing and is not an effect.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from runbooks.actions.base import (
    Action,
    ActionDeclined,
    ActionResult,
    ActionRuntime,
    KeyFunction,
    RenderedAction,
)
from runbooks.templating import Renderer


class ManualAction(Action):
    """`{type: manual, instruction: "Check the dashboard shows ..."}`."""

    type_name: ClassVar[str] = "manual"

    type: Literal["manual"]
    instruction: str = Field(min_length=1)

    def render(self, renderer: Renderer, key: KeyFunction | None = None) -> RenderedAction:
        instruction = renderer.text(self.instruction, field_name="instruction")
        payload = {"instruction": instruction}
        return RenderedAction(
            "manual", f"by hand: {instruction}", payload, key(payload) if key else None
        )

    def execute(self, rendered: RenderedAction, runtime: ActionRuntime) -> ActionResult:
        if not runtime.confirm(rendered.payload["instruction"]):
            raise ActionDeclined("the operator did not confirm the manual step")
        return ActionResult({"confirmed": True})
