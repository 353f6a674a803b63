"""Rendering a run's steps: templates filled in with the run's params, asset, incident and the
outputs of earlier steps; the assets each step changes as canonical refs.

What is rendered here is what runs (DESIGN.md, "Templates"): the operator sees the exact action,
and its key is hash(incident, runbook, version, step, rendered action).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graph.errors import GraphError
from runbooks.actions import Action, RenderedAction, render_check
from runbooks.errors import RunbookError
from runbooks.keys import step_key
from runbooks.run_context import RunContext
from runbooks.run_state import RenderedStep
from runbooks.schema import StepSpec
from runbooks.templating import (
    IncidentView,
    NeedsStepOutput,
    Renderer,
    StepView,
    TemplateContext,
    TemplateProblem,
)


class StepRenderer:
    """Renders the steps of one run, in the sandbox, against what the run knows now."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def renderer(self) -> Renderer:
        ctx = self.ctx
        asset_name = ctx.runbook.spec.asset_param()
        asset = ctx.params.values.get(asset_name) if asset_name else None
        incident = None
        if ctx.incident:
            i = ctx.incident
            incident = IncidentView(i.id, i.title, i.severity, i.status, i.asset, i.commander)
        pending = frozenset(s.id for s in ctx.runbook.spec.steps if s.id not in ctx.outputs)
        return Renderer(
            TemplateContext(dict(ctx.params.values), asset, incident, ctx.outputs, pending)
        )

    def title(self, step: StepSpec) -> str:
        """The step's title with its templates filled in; as written while it needs the output
        of a step that has not run yet (`render` fills it in once that output exists)."""
        try:
            return self.renderer().text(step.title, field_name="title")
        except TemplateProblem:
            return step.title

    def output(self, step_id: str, view: StepView) -> None:
        """Keep a finished step's output for later templates, and fill in the titles that were
        waiting for it."""
        self.ctx.outputs[step_id] = view
        self.refresh_titles()

    def refresh_titles(self) -> None:
        for step in self.ctx.runbook.spec.steps:
            if "{" in step.title:
                self.ctx.states[step.id].title = self.title(step)

    def problem(self, step_id: str, exc: TemplateProblem) -> RunbookError:
        """A template problem as a runbook error naming file, line and step."""
        runbook = self.ctx.runbook
        line = runbook.step_line(step_id)
        where = f"{runbook.path}:{line}: " if line else f"{runbook.path}: "
        error = StepTemplateError(f"{where}step {step_id!r}: {exc}")
        error.problem = exc
        return error

    def _key_function(self, step_id: str) -> Callable[[Mapping[str, Any]], str]:
        ctx = self.ctx

        def key(payload: Mapping[str, Any]) -> str:
            return step_key(ctx.incident_id, ctx.runbook.id, ctx.runbook.version, step_id, payload)

        return key

    def action(self, step: StepSpec) -> RenderedAction:
        try:
            return step.action.render(self.renderer(), key=self._key_function(step.id))
        except TemplateProblem as exc:
            raise self.problem(step.id, exc) from exc

    def check(self, step: StepSpec, check: Action) -> tuple[RenderedAction, Any]:
        try:
            return render_check(check, self.renderer())
        except TemplateProblem as exc:
            raise self.problem(step.id, exc) from exc

    def step_title(self, step: StepSpec) -> str:
        """The title rendered now, in the same sandbox as the action; kept on the step's state
        so the plan shows it too."""
        try:
            title = self.renderer().text(step.title, field_name="title")
        except TemplateProblem as exc:
            raise self.problem(step.id, exc) from exc
        self.ctx.states[step.id].title = title
        return title

    def step_assets(self, step: StepSpec) -> list[str]:
        """The assets a step changes, as canonical refs (its `assets:`, else the asset param)."""
        ctx = self.ctx
        if step.assets is None:
            name = ctx.runbook.spec.asset_param()
            value = ctx.params.stored.get(name) if name else None
            return [str(value)] if value else []
        renderer = self.renderer()
        refs = []
        for index, template in enumerate(step.assets):
            try:
                text = renderer.text(template, field_name=f"assets[{index}]")
            except TemplateProblem as exc:
                raise self.problem(step.id, exc) from exc
            refs.append(self._canonical(text, step.id))
        return refs

    def _canonical(self, text: str, step_id: str) -> str:
        if self.ctx.catalog is None:
            return text
        try:
            return self.ctx.catalog.resolve(text).ref
        except GraphError as exc:
            raise RunbookError(f"{self.ctx.runbook.path}: step {step_id!r}: assets: {exc}") from exc

    def changed_assets(self) -> list[str]:
        """Every asset the run's changing steps change (read-only steps change nothing)."""
        assets: set[str] = set()
        for step in self.ctx.runbook.spec.steps:
            if not step.action.read_only:
                assets.update(self.step_assets(step))
        return sorted(assets)

    def destructive_assets(self) -> list[str]:
        """The assets the run's destructive steps change, as far as they are known before it
        runs (a step whose `assets:` needs an earlier output is decided at that step)."""
        assets: set[str] = set()
        for step in self.ctx.runbook.spec.steps:
            if not step.destructive:
                continue
            try:
                assets.update(self.step_assets(step))
            except StepTemplateError as exc:
                if not isinstance(exc.problem, NeedsStepOutput):
                    raise
        return sorted(assets)

    def render(self, step_id: str) -> RenderedStep:
        """The exact action, check and verify of a step as they would run now."""
        step = self.ctx.runbook.spec.step(step_id)
        action = self.action(step)
        title = self.step_title(step)
        check = self.check(step, step.check)[0] if step.check else None
        verify = self.check(step, step.verify)[0] if step.verify else None
        return RenderedStep(
            step.id,
            title,
            step.destructive,
            action,
            check,
            verify,
            tuple(self.step_assets(step)),
        )


class StepTemplateError(RunbookError):
    """A step's template cannot be rendered; `problem` is the `TemplateProblem` underneath."""

    problem: TemplateProblem
