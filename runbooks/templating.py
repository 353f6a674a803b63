"""Rendering the templated fields of a runbook, safely.

Every templated field goes through one Jinja2 `ImmutableSandboxedEnvironment` with
`StrictUndefined`: a typo is an error, never an empty string, and a template cannot reach Python
internals. Only four names are visible: `params` (each parameter also by its own name), `asset`,
`incident` and `steps` (earlier steps' status and output). Values are inserted once and never
rendered again, so a parameter holding `{{ ... }}`, SQL or shell metacharacters stays a plain value;
where that value lands (a bound SQL parameter, one argv element, a percent-encoded URL part) is
decided by the action, never by the text of the value.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jinja2.meta
from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from runbooks.errors import RunbookError

_WHOLE_EXPRESSION = re.compile(r"\s*\{\{((?:(?!\{\{|\}\}).)*)\}\}\s*", re.DOTALL)


class TemplateProblem(RunbookError):
    """A templated field cannot be rendered: undefined name, syntax error, forbidden access."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field_name = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


class NeedsStepOutput(TemplateProblem):
    """A template reads the output of a step of this runbook that has not run yet: rendered at
    run time, once it has. Told apart by type: any other undefined name is a mistake."""

    def __init__(self, field_name: str, step_id: str) -> None:
        self.step_id = step_id
        super().__init__(field_name, f"needs the output of step {step_id!r}, which has not run yet")


class _PendingStep(Exception):
    """Raised inside Jinja when `steps.<id>` names a step of the runbook that has not run."""

    def __init__(self, step_id: str) -> None:
        self.step_id = step_id
        super().__init__(step_id)


class _Steps(dict[str, "StepView"]):
    """`steps` as templates see it: a step that has not run yet raises `_PendingStep` (not a
    LookupError, so Jinja does not turn it into an undefined), any other unknown id is
    undefined as usual."""

    def __init__(self, views: Mapping[str, StepView], pending: frozenset[str]) -> None:
        super().__init__(views)
        self.pending = pending

    def __missing__(self, key: str) -> StepView:
        if key in self.pending:
            raise _PendingStep(key)
        raise KeyError(key)


class IsoDatetime(datetime):
    """A UTC datetime that prints as ISO 8601, so `{{ since }}` reads the same as it binds."""

    def __str__(self) -> str:
        return self.isoformat()

    @classmethod
    def of(cls, value: datetime) -> IsoDatetime:
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return cls(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=UTC,
        )


@dataclass(frozen=True)
class AssetView:
    """What a template sees of a catalog asset; prints as its canonical ref."""

    ref: str
    kind: str
    namespace: str
    name: str
    title: str | None = None
    type: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.ref


@dataclass(frozen=True)
class IncidentView:
    """What a template sees of the incident a run belongs to."""

    id: str
    title: str
    severity: str
    status: str
    asset: str | None
    commander: str | None = None

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True)
class StepView:
    """An earlier step as templates see it: its status and the output its action returned."""

    status: str
    output: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class TemplateContext:
    """Everything a template may see. Built by the engine; nothing else leaks in."""

    params: dict[str, Any] = field(default_factory=dict)
    asset: AssetView | None = None
    incident: IncidentView | None = None
    steps: Mapping[str, StepView] = field(default_factory=dict)
    #: The runbook's steps that have not run (yet): reading their output is `NeedsStepOutput`.
    pending: frozenset[str] = frozenset()

    def variables(self) -> dict[str, Any]:
        views: dict[str, StepView] = {}
        for step_id, view in self.steps.items():
            views[step_id] = view
            views.setdefault(step_id.replace("-", "_"), view)
        pending = {p for step_id in self.pending for p in (step_id, step_id.replace("-", "_"))}
        steps = _Steps(views, frozenset(pending - set(views)))
        names: dict[str, Any] = dict(self.params)
        names["params"] = dict(self.params)
        names["steps"] = steps
        names["incident"] = self.incident
        if self.asset is not None:
            names["asset"] = self.asset
        return names


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.globals.clear()  # range, cycler, lipsum...: nothing beyond the four documented names
    return env


_ENV = _environment()


def _quoted(value: Any) -> str:
    return urllib.parse.quote(str(value), safe="")


_URL_ENV = _environment()
_URL_ENV.finalize = _quoted


def to_json_value(value: Any) -> Any:
    """A rendered native value as JSON data: what the ledger stores and the operator sees."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return IsoDatetime.of(value).isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return str(value)


def is_templated(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


class Renderer:
    """Renders templated fields against one `TemplateContext`."""

    def __init__(self, context: TemplateContext) -> None:
        self._vars = context.variables()

    def text(self, template: str, *, field_name: str) -> str:
        """A templated string rendered to text."""
        return self._render(_ENV, template, field_name)

    def url(self, template: str, *, field_name: str) -> str:
        """A templated URL: every inserted value is percent-encoded so it cannot change the URL's
        structure (no new path segments, query parameters or host)."""
        return self._render(_URL_ENV, template, field_name)

    def value(self, template: Any, *, field_name: str) -> Any:
        """A templated value, recursively. A string that is exactly one `{{ expression }}` keeps
        the expression's type (an int stays an int for a bound SQL parameter); anything else is
        rendered to text. The result is JSON data."""
        if isinstance(template, str):
            match = _WHOLE_EXPRESSION.fullmatch(template)
            if match:
                return to_json_value(self._evaluate(match.group(1), field_name))
            return (
                self.text(template, field_name=field_name) if is_templated(template) else template
            )
        if isinstance(template, Mapping):
            return {
                str(k): self.value(v, field_name=f"{field_name}.{k}") for k, v in template.items()
            }
        if isinstance(template, list | tuple):
            return [self.value(v, field_name=f"{field_name}[{i}]") for i, v in enumerate(template)]
        return to_json_value(template)

    def _evaluate(self, expression: str, field_name: str) -> Any:
        try:
            compiled = _ENV.compile_expression(expression.strip(), undefined_to_none=False)
            result = compiled(**self._vars)
            if isinstance(result, StrictUndefined):
                str(result)  # raises UndefinedError with the missing name
            return result
        except _PendingStep as exc:
            raise NeedsStepOutput(field_name, exc.step_id) from exc
        except (SecurityError, UndefinedError, TemplateError) as exc:
            raise TemplateProblem(field_name, _describe(exc)) from exc
        except (TypeError, ValueError, AttributeError, KeyError, ZeroDivisionError) as exc:
            raise TemplateProblem(field_name, f"cannot evaluate: {exc}") from exc

    def _render(self, env: ImmutableSandboxedEnvironment, template: str, field_name: str) -> str:
        if not is_templated(template):
            return template
        try:
            return env.from_string(template).render(**self._vars)
        except _PendingStep as exc:
            raise NeedsStepOutput(field_name, exc.step_id) from exc
        except (SecurityError, UndefinedError, TemplateError) as exc:
            raise TemplateProblem(field_name, _describe(exc)) from exc
        except (TypeError, ValueError, AttributeError, KeyError, ZeroDivisionError) as exc:
            raise TemplateProblem(field_name, f"cannot render: {exc}") from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, SecurityError):
        return f"forbidden in a runbook template: {exc}"
    if isinstance(exc, UndefinedError):
        return f"{exc.message} (visible: params, asset, incident, steps)"
    line = getattr(exc, "lineno", None)
    where = f" (template line {line})" if line else ""
    return f"template error{where}: {getattr(exc, 'message', None) or exc}"


def check_syntax(template: str) -> str | None:
    """The syntax error of a template, or None: lets loading reject a broken template early."""
    if not is_templated(template):
        return None
    try:
        _ENV.parse(template)
    except TemplateError as exc:
        return _describe(exc)
    return None


def undeclared_names(template: str) -> set[str]:
    """The top-level names a (syntactically valid) template reads."""
    return set(jinja2.meta.find_undeclared_variables(_ENV.parse(template)))
