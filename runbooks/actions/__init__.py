"""Action types by name. A new type is one module with one `Action` subclass, added here.

`ACTIONS` maps the YAML `type:` to the class; `CHECKS` the types that can test a desired state
(used under `check:` and `verify:`), each extended with an optional `expect`.
"""

from __future__ import annotations

from typing import Any

from pydantic import create_model

from runbooks.actions.airflow import AirflowAction
from runbooks.actions.base import (
    MISSING,
    Action,
    ActionDeclined,
    ActionFailed,
    ActionResult,
    ActionRuntime,
    ActionTimedOut,
    CheckResult,
    Preview,
    RenderedAction,
)
from runbooks.actions.command import CommandAction
from runbooks.actions.http import HttpAction
from runbooks.actions.manual import ManualAction
from runbooks.actions.mlflow import MlflowAction
from runbooks.actions.notify import NotifyAction
from runbooks.actions.sql import SqlAction

ACTIONS: dict[str, type[Action]] = {
    cls.type_name: cls
    for cls in (
        SqlAction,
        HttpAction,
        CommandAction,
        ManualAction,
        NotifyAction,
        MlflowAction,
        AirflowAction,
    )
}


def _check_class(action: type[Action]) -> type[Action]:
    """The check form of an action type: the same fields plus an optional `expect`."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{action.__name__}Check", __base__=action, expect=(Any, None)
    )


CHECKS: dict[str, type[Action]] = {
    name: _check_class(cls) for name, cls in ACTIONS.items() if cls.checkable
}


def expectation_of(check: Action) -> Any:
    """The `expect` a runbook gave a check, or MISSING when it gave none."""
    if "expect" in check.model_fields_set:
        return getattr(check, "expect", MISSING)
    return MISSING


__all__ = [
    "ACTIONS",
    "CHECKS",
    "MISSING",
    "Action",
    "ActionDeclined",
    "ActionFailed",
    "ActionResult",
    "ActionRuntime",
    "ActionTimedOut",
    "CheckResult",
    "Preview",
    "RenderedAction",
    "expectation_of",
    "render_check",
]


def render_check(check: Action, renderer: Any) -> tuple[RenderedAction, Any]:
    """Render a check and its (templated) `expect`; the text shows what it is compared with."""
    rendered = check.render(renderer)
    expect = expectation_of(check)
    if expect is MISSING:
        return RenderedAction(
            rendered.type, rendered.text + "\n  holds when: a truthy result", rendered.payload
        ), MISSING
    expect = renderer.value(expect, field_name="expect")
    payload = {**rendered.payload, "expect": expect}
    return RenderedAction(
        rendered.type, rendered.text + f"\n  holds when: result = {expect!r}", payload
    ), expect
