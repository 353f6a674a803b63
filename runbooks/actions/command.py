"""`command`: an argv list run without a shell, with a timeout, its output captured.

Each argv element is rendered on its own and passed as one argument, so a parameter holding
`; rm -rf /` or `$(...)` is one literal argument, never shell syntax. The process runs in the
workspace root (or `cwd` below it) and sees `ONCALL_IDEMPOTENCY_KEY`, so a job that accepts an
idempotency key can be given the step's.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

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

KEY_VARIABLE = "ONCALL_IDEMPOTENCY_KEY"


class CommandAction(Action):
    """`{type: command, argv: [prog, arg, ...], cwd: dir, env: {NAME: value}, ok_codes: [0]}`."""

    type_name: ClassVar[str] = "command"
    checkable: ClassVar[bool] = True

    type: Literal["command"]
    argv: list[str] = Field(min_length=1)
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    ok_codes: list[int] = Field(default_factory=lambda: [0])

    def render(self, renderer: Renderer, key: KeyFunction | None = None) -> RenderedAction:
        argv = [renderer.text(a, field_name=f"argv[{i}]") for i, a in enumerate(self.argv)]
        env = {k: renderer.text(v, field_name=f"env.{k}") for k, v in self.env.items()}
        cwd = renderer.text(self.cwd, field_name="cwd") if self.cwd else None
        payload: dict[str, Any] = {"argv": argv, "cwd": cwd, "env": env, "ok_codes": self.ok_codes}
        step_key = key(payload) if key else None
        lines = [f"run (no shell): {shlex.join(argv)}"]
        lines.append(f"  in: {cwd or '(workspace root)'}")
        lines += [f"  env {k}={v}" for k, v in env.items()]
        return RenderedAction("command", "\n".join(lines), payload, step_key)

    def execute(self, rendered: RenderedAction, runtime: ActionRuntime) -> ActionResult:
        completed = _run(rendered, runtime)
        output = _describe(completed)
        if completed.returncode not in rendered.payload["ok_codes"]:
            raise ActionFailed(
                f"{shlex.join(rendered.payload['argv'])} exited {completed.returncode}: "
                f"{truncate(completed.stderr or completed.stdout, 800).strip()}"
            )
        return ActionResult(output)

    def check(self, rendered: RenderedAction, runtime: ActionRuntime, expect: Any) -> CheckResult:
        completed = _run(rendered, runtime)
        ok = completed.returncode in rendered.payload["ok_codes"]
        observed = completed.stdout.strip()
        holds = ok and expectation_met(observed if observed else True, expect)
        return CheckResult(holds, observed, f"exit code {completed.returncode}")


def _run(rendered: RenderedAction, runtime: ActionRuntime) -> subprocess.CompletedProcess[str]:
    payload = rendered.payload
    cwd = runtime.workdir
    if payload["cwd"]:
        root = runtime.workdir.resolve()
        cwd = (root / payload["cwd"]).resolve()
        if not cwd.is_relative_to(root):
            raise ActionFailed(
                f"cwd {payload['cwd']!r} is outside the workspace ({root}); a command runs "
                "inside the workspace only"
            )
    env = {**os.environ, **payload["env"]}
    key = rendered.key or runtime.idempotency_key
    if key:
        env[KEY_VARIABLE] = key
    argv = payload["argv"]
    try:
        return subprocess.run(
            argv,
            cwd=Path(cwd),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=runtime.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ActionTimedOut(
            f"{shlex.join(argv)} did not finish within {runtime.timeout:g}s"
        ) from exc
    except FileNotFoundError as exc:
        raise ActionFailed(f"{argv[0]}: command not found (or no directory {cwd})") from exc
    except PermissionError as exc:
        raise ActionFailed(f"{argv[0]}: not executable") from exc


def _describe(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return {
        "exit_code": completed.returncode,
        "stdout": truncate(completed.stdout),
        "stderr": truncate(completed.stderr),
    }
