"""The shape every action type has: a pydantic model of its YAML fields plus three operations.

One small abstract base class, one module per type, a registry by name (STYLE.md, "Plugins by a
small abstract base class"). An action's fields come straight from the runbook; `render` turns
them, with the templates filled in, into a `RenderedAction`: the exact text the operator is shown
(SQL with its bound values, the HTTP request, the argv, the message) and the JSON payload that will
execute, nothing else. `execute` performs the effect from that payload only, so what runs is what
was shown. Types that can test a desired state also implement `check`; a runbook's `check:` and
`verify:` use them with an optional `expect`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from runbooks.errors import RunbookError
from runbooks.templating import Renderer

#: Maps a rendered payload to the step's idempotency key (supplied by the engine).
KeyFunction = Callable[[Mapping[str, Any]], str]


class ActionFailed(RunbookError):
    """An action ran and did not achieve its effect (error, non-zero exit, bad HTTP status)."""


class ActionTimedOut(ActionFailed):
    """An action ran longer than its step's timeout and was stopped."""


class ActionDeclined(RunbookError):
    """The operator declined to confirm a manual action; nothing was done."""


class NotCheckable(RunbookError):
    """This action type cannot test a desired state (a `manual` or `notify` step)."""


@dataclass(frozen=True)
class RenderedAction:
    """An action with every template filled in: what is shown, what runs, and its step key."""

    type: str
    text: str
    payload: dict[str, Any]
    key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "text": self.text, "payload": self.payload, "key": self.key}


@dataclass(frozen=True)
class ActionResult:
    """What an effect returned; `output` is stored in the ledger and visible to later steps.

    `changed` says in one line what the effect did ("deleted 490 rows", "champion: v5 → v4"),
    for the operator and the timeline; None when the action cannot tell."""

    output: dict[str, Any] = field(default_factory=dict)
    effect_count: int = 1
    changed: str | None = None


@dataclass(frozen=True)
class Preview:
    """What an action would change, computed without changing anything ("deletes 490 rows of 4
    loads", "champion: v5 → v4"): shown under the action and in the destructive confirmation."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """Whether the desired state holds, and what was observed, for the operator and the timeline."""

    holds: bool
    observed: Any
    detail: str


@dataclass
class ActionRuntime:
    """What running an action needs from outside the runbook: given by the engine, per step."""

    connections: Mapping[str, str]
    workdir: Path
    credentials: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    timeout: float = 60.0
    idempotency_key: str | None = None
    notify_webhook: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    confirm: Callable[[str], bool] = lambda _text: False
    say: Callable[[str], None] = print


class Action(BaseModel, ABC):
    """Base of every action type. Subclasses declare `type: Literal[...]` and their fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The name used in YAML (`type: sql`); the registry is keyed by it.
    type_name: ClassVar[str] = ""
    #: Whether `check` is implemented, so the type may appear under `check:` and `verify:`.
    checkable: ClassVar[bool] = False
    #: Whether the action only reads; a read-only step takes no lease and is never destructive.
    read_only: ClassVar[bool] = False

    def reads_only(self) -> bool:
        """Whether this action, with its fields, only reads (`read_only` per type; a type with
        reading and writing operations, like `mlflow`, answers per operation)."""
        return type(self).read_only

    @abstractmethod
    def render(self, renderer: Renderer, key: KeyFunction | None = None) -> RenderedAction:
        """Fill in the templates; `key` turns the payload into the step key when there is one."""

    @abstractmethod
    def execute(self, rendered: RenderedAction, runtime: ActionRuntime) -> ActionResult:
        """Perform the effect described by `rendered.payload`; raise ActionFailed when it fails."""

    def preview(self, rendered: RenderedAction, runtime: ActionRuntime) -> Preview | None:
        """What the effect would change, found by reading only (a `preview:` query, an API's own
        dry run); None when this action cannot know without acting."""
        return None

    def check(self, rendered: RenderedAction, runtime: ActionRuntime, expect: Any) -> CheckResult:
        """Test whether the desired state holds, changing nothing. `expect` is `MISSING` when
        the runbook gave none: then a truthy observation holds."""
        raise NotCheckable(f"a {self.type_name} action cannot be used as a check")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def expectation_met(observed: Any, expect: Any) -> bool:
    """`observed` satisfies `expect`: equal as numbers when both are numbers, as text otherwise.

    Text and numbers meet here because a rendered `expect` of `"{{ ... }}"` and a database column
    may disagree on type (SQLite returns 1 for a boolean); the operator wrote a value, not a type.
    """
    if expect is MISSING:
        return bool(observed)
    if observed == expect:
        return True
    number_o, number_e = _as_number(observed), _as_number(expect)
    if number_o is not None and number_e is not None:
        return number_o == number_e
    return _as_text(observed) == _as_text(expect)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, sort_keys=True, default=str)


def truncate(text: str, limit: int = 4000) -> str:
    """Keep the end of long output: errors are usually last."""
    if len(text) <= limit:
        return text
    return f"[… {len(text) - limit} characters cut …]\n" + text[-limit:]
