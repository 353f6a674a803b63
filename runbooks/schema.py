"""The runbook file format: pydantic models, and loading a file with problems located.

A runbook is one YAML document (DESIGN.md, "runbooks: vetted, idempotent recovery"). Loading
validates everything that can be known without running anything: the shape, the action types and
their fields, that every `:name` in SQL is given, that templates parse and name only visible
variables. Every problem names the file, the line and the step, and all of them are reported at
once so a reviewer fixes a runbook in one pass.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from runbooks.actions import ACTIONS, CHECKS, Action
from runbooks.templating import check_syntax, is_templated, undeclared_names
from runbooks.yamlsource import RunbookFileError, SourceMap, parse_yaml, read_text

NAME_PATTERN = r"^[a-z0-9]+([-_.][a-z0-9]+)*$"
PARAM_NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
RESERVED_PARAM_NAMES = frozenset({"params", "incident", "steps"})
VISIBLE_NAMES = frozenset({"params", "incident", "steps", "asset"})
ParamType = Literal["string", "int", "datetime", "asset", "choice"]
OnFailure = Literal["stop", "continue", "manual"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def _type_of(value: Any) -> str | None:
    return value.get("type") if isinstance(value, dict) else getattr(value, "type", None)


def _tagged_union(classes: dict[str, type[Action]], what: str) -> Any:
    """A pydantic discriminated union over the registered classes, tagged by `type`."""
    members = tuple(Annotated[cls, Tag(name)] for name, cls in classes.items())
    return Annotated[
        members[0] if len(members) == 1 else _union(members),
        Discriminator(
            _type_of,
            custom_error_type="unknown_action_type",
            custom_error_message=f"'type' must be one of {', '.join(classes)} for {what}",
        ),
    ]


def _union(members: tuple[Any, ...]) -> Any:
    from typing import Union

    return Union[members]  # noqa: UP007 - built from the registry at import time


AnyAction = _tagged_union(ACTIONS, "an action")
AnyCheck = _tagged_union(CHECKS, "a check or verify (only these can test a state)")


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string like `30s`, `5m`, `1h`, `500ms`."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '30s' or '5m'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        raise ValueError("a duration is a number of seconds or a string like '30s' or '5m'")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


class ParamSpec(BaseModel):
    """One parameter: its type, whether it is required, its default, help and choices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ParamType = "string"
    required: bool = False
    default: str | int | None = None
    help: str | None = None
    choices: list[str] | None = None
    pattern: str | None = Field(default=None, description="regex a string value must match")

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        if self.type == "choice" and not self.choices:
            raise ValueError("a 'choice' parameter needs 'choices'")
        if self.type != "choice" and self.choices:
            raise ValueError("'choices' is only for a parameter of type 'choice'")
        if self.pattern is not None:
            if self.type != "string":
                raise ValueError("'pattern' is only for a parameter of type 'string'")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"'pattern' is not a valid regular expression: {exc}") from exc
        if self.required and self.default is not None:
            raise ValueError("a required parameter has no default")
        return self


class AppliesTo(BaseModel):
    """Which assets a runbook is for: by `spec.type`, by tag, or by ref. Empty: any asset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    types: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    refs: list[str] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.types or self.tags or self.refs)


#: The HTTP methods a check may send: checks only read (DESIGN.md, "Fencing and trust").
READING_METHODS = ("GET", "HEAD")


class StepSpec(BaseModel):
    """One step: an action, an optional check (skip when it holds) and verify (after the effect)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=NAME_PATTERN, max_length=63)
    title: str = Field(min_length=1)
    description: str | None = None
    action: AnyAction
    check: AnyCheck | None = None
    verify: AnyCheck | None = None
    destructive: bool = False
    timeout: float = 60.0
    retries: int = Field(default=0, ge=0, le=10)
    on_failure: OnFailure = "stop"
    assets: list[str] | None = Field(
        default=None,
        description="assets this step changes (templated refs); default: the `asset` parameter",
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @model_validator(mode="after")
    def _read_only_is_not_destructive(self) -> StepSpec:
        if self.destructive and self.action.reads_only():
            raise ValueError(f"a {self.action.type} action only reads; it cannot be destructive")
        return self

    @model_validator(mode="after")
    def _checks_only_read(self) -> StepSpec:
        for name, check in (("check", self.check), ("verify", self.verify)):
            method = getattr(check, "method", None) if check is not None else None
            if check is not None and check.type == "http" and method not in READING_METHODS:
                raise ValueError(
                    f"{name}: an http {name} only reads: its method must be GET or HEAD "
                    f"(got {method})"
                )
        return self


class RunbookSpec(BaseModel):
    """A whole runbook file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=NAME_PATTERN, max_length=63)
    title: str = Field(min_length=1)
    version: int = Field(ge=1)
    description: str | None = None
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    steps: list[StepSpec] = Field(min_length=1)

    @field_validator("params")
    @classmethod
    def _param_names(cls, params: dict[str, ParamSpec]) -> dict[str, ParamSpec]:
        for name, spec in params.items():
            if not re.match(PARAM_NAME_PATTERN, name):
                raise ValueError(f"parameter name {name!r} must match {PARAM_NAME_PATTERN}")
            if name in RESERVED_PARAM_NAMES:
                raise ValueError(f"parameter name {name!r} is reserved for templates")
            if name == "asset" and spec.type != "asset":
                raise ValueError("a parameter named 'asset' must have type 'asset'")
        return params

    @model_validator(mode="after")
    def _unique_steps(self) -> RunbookSpec:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} appears twice")
            seen.add(step.id)
        return self

    def step(self, step_id: str) -> StepSpec:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def asset_param(self) -> str | None:
        """The parameter whose asset templates see as `asset` (named `asset`, else the first)."""
        if "asset" in self.params:
            return "asset"
        for name, spec in self.params.items():
            if spec.type == "asset":
                return name
        return None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a runbook file."""

    line: int | None
    step: str | None
    message: str


class RunbookInvalid(RunbookFileError):
    """A runbook file that does not validate; carries every problem, each with line and step."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(first.message, file=file, line=first.line, step=first.step)
        if len(problems) > 1:
            rest = [_format_problem(file, p) for p in problems[1:]]
            self.args = ("\n".join([str(self.args[0]), *rest]),)


def _format_problem(file: str, problem: Problem) -> str:
    where = f"{file}:{problem.line}: " if problem.line else f"{file}: "
    what = f"step {problem.step!r}: " if problem.step else ""
    return f"{where}{what}{problem.message}"


@dataclass(frozen=True)
class Runbook:
    """A validated runbook with where it came from: path, text, sha256 and line numbers."""

    spec: RunbookSpec
    path: Path
    text: str
    sha256: str
    source: SourceMap = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> int:
        return self.spec.version

    def step_line(self, step_id: str) -> int | None:
        for index, step in enumerate(self.spec.steps):
            if step.id == step_id:
                return self.source.line_of(("steps", index))
        return None


def file_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_runbook(path: Path) -> Runbook:
    """Read, parse and validate one runbook file; raise `RunbookInvalid` listing every problem."""
    text = read_text(path)
    return parse_runbook(text, str(path), path)


def parse_runbook(text: str, file: str, path: Path | None = None) -> Runbook:
    data, source = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise RunbookFileError("a runbook is a YAML mapping (id, title, version, steps)", file=file)
    try:
        spec = RunbookSpec.model_validate(data)
    except ValidationError as exc:
        problems = sorted(_problems_of(exc, data, source), key=lambda p: p.line or 0)
        raise RunbookInvalid(file, problems) from exc
    problems = sorted(
        [*_template_problems(spec, data, source), *_unleased_steps(spec, source)],
        key=lambda p: p.line or 0,
    )
    if problems:
        raise RunbookInvalid(file, problems)
    return Runbook(spec, path or Path(file), text, file_sha256(text), source)


def _problems_of(exc: ValidationError, data: dict[str, Any], source: SourceMap) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors():
        kind = error["type"]
        loc = _clean_loc(data, error["loc"], keep_last=kind in {"missing", "extra_forbidden"})
        step = _step_id(data, loc)
        shown = _display(loc[2:] if step and len(loc) > 2 else loc)
        if kind == "extra_forbidden":
            line = source.key_line(loc)
            message = f"unknown key {loc[-1]!r}"
            shown = _display(loc[2:-1] if step else loc[:-1])
        elif kind == "missing":
            line = source.line_of(loc[:-1])
            message = f"missing required key {loc[-1]!r}"
            shown = _display(loc[2:-1] if step else loc[:-1])
        else:
            line = source.line_of(loc)
            message = str(error["msg"]).removeprefix("Value error, ")
        prefix = f"{shown}: " if shown else ""
        problems.append(Problem(line, step, prefix + message))
    return problems


def _clean_loc(data: Any, loc: Sequence[str | int], keep_last: bool) -> tuple[str | int, ...]:
    """The location without the parts pydantic adds (union tags, validator names)."""
    kept: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        in_mapping = isinstance(node, dict) and part in node
        in_sequence = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_sequence:
            kept.append(part)
            node = node[part]
        elif (
            keep_last
            and last
            and isinstance(node, dict)
            and isinstance(part, str)
            and "[" not in part
        ):
            kept.append(part)
    return tuple(kept)


def _step_id(data: dict[str, Any], loc: Sequence[str | int]) -> str | None:
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = data.get("steps")
        if isinstance(steps, list) and loc[1] < len(steps) and isinstance(steps[loc[1]], dict):
            step_id = steps[loc[1]].get("id")
            return str(step_id) if step_id is not None else f"#{loc[1] + 1}"
    return None


def _display(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _strings(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


def _unleased_steps(spec: RunbookSpec, source: SourceMap) -> Iterator[Problem]:
    """Steps that can change something but name no asset: nothing to lease, so two runs could
    both apply them, and no owner to ask. Every such step must resolve to an asset."""
    for index, step in enumerate(spec.steps):
        if type(step.action).read_only:
            continue
        if step.assets or (step.assets is None and spec.asset_param() is not None):
            continue
        what = "is destructive" if step.destructive else f"runs a {step.action.type} action"
        yield Problem(
            source.line_of(("steps", index)),
            step.id,
            f"{what} but names no asset it changes: add 'assets:' or an asset parameter, so "
            "it is leased (one run at a time) and its owners are known",
        )


def _template_problems(
    spec: RunbookSpec, data: dict[str, Any], source: SourceMap
) -> Iterator[Problem]:
    """Templates that cannot parse, or that name something templates cannot see."""
    visible = VISIBLE_NAMES | set(spec.params)
    for index, step in enumerate(data.get("steps", [])):
        step_id = spec.steps[index].id
        for loc, text in _strings(step, ("steps", index)):
            if not is_templated(text):
                continue
            shown = _display(loc[2:])
            error = check_syntax(text)
            if error:
                yield Problem(source.line_of(loc), step_id, f"{shown}: {error}")
                continue
            names = undeclared_names(text)
            unknown = sorted(names - visible)
            if unknown:
                yield Problem(
                    source.line_of(loc),
                    step_id,
                    f"{shown}: template uses {', '.join(unknown)}, which is not a parameter "
                    f"(visible: params, asset, incident, steps, {', '.join(spec.params) or '-'})",
                )
