"""A runbook's parameters as a form, validated field by field with the engine's own rules.

Each value is checked with `runbooks.params.coerce` — the same function the engine uses — so the
form can never accept what the run would refuse, and each error sits under its own field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label, Select, Static

PLACEHOLDERS = {
    "datetime": "ISO 8601, UTC unless given: 2026-03-09T22:00",
    "int": "a whole number",
    "asset": "an asset name or ref",
    "string": "",
}


class ParamsForm(Vertical):
    """One row per parameter; `values()` returns the raw values and the errors by name."""

    def __init__(
        self,
        spec: Any,
        prefill: Mapping[str, str],
        catalog: Any | None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.spec = spec
        self.prefill = dict(prefill)
        self.catalog = catalog

    def compose(self) -> ComposeResult:
        if not self.spec.params:
            yield Static("This runbook takes no parameters.", classes="field-help")
        for name, param in self.spec.params.items():
            required = " *" if param.required else ""
            with Horizontal(classes="field"):
                yield Label(Content(f"{name}{required}"), classes="field-label")
                initial = self.prefill.get(name)
                if initial is None and param.default is not None:
                    initial = str(param.default)
                if param.type == "choice":
                    yield Select(
                        [(c, c) for c in param.choices or []],
                        value=initial if initial in (param.choices or []) else Select.NULL,
                        compact=True,
                        id=f"param-{name}",
                    )
                else:
                    yield Input(
                        value=initial or "",
                        placeholder=PLACEHOLDERS.get(param.type, ""),
                        compact=True,
                        id=f"param-{name}",
                    )
            help_text = f"{param.type}" + (f" · {param.help}" if param.help else "")
            yield Static(Content(help_text), classes="field-help", id=f"help-{name}")
            yield Static("", classes="field-error", id=f"error-{name}")

    def raw_values(self) -> dict[str, str]:
        raw: dict[str, str] = {}
        for name in self.spec.params:
            widget = self.query_one(f"#param-{name}")
            if isinstance(widget, Select):
                value = widget.value
                if value is not Select.NULL and value is not None:
                    raw[name] = str(value)
            else:
                assert isinstance(widget, Input)
                if widget.value.strip():
                    raw[name] = widget.value.strip()
        return raw

    def validate(self) -> tuple[dict[str, str], dict[str, str]]:
        """(raw values to hand the engine, error message by parameter name)."""
        from runbooks.errors import RunbookError
        from runbooks.params import coerce

        raw = self.raw_values()
        errors: dict[str, str] = {}
        for name, param in self.spec.params.items():
            if name not in raw:
                if param.required:
                    errors[name] = "required"
                continue
            # As the engine does: only the runbook's own asset must be one it applies to.
            applies_to = self.spec.applies_to if name == self.spec.asset_param() else None
            try:
                coerce(name, param, raw[name], self.catalog, applies_to, self.spec.id)
            except RunbookError as exc:
                errors[name] = str(exc).removeprefix(f"--param {name}={raw[name]}: ")
        for name in self.spec.params:
            self._show_error(name, errors.get(name))
        return raw, errors

    def _show_error(self, name: str, error: str | None) -> None:
        widget = self.query_one(f"#error-{name}", Static)
        widget.display = error is not None
        widget.update(Content.from_markup("[$error]✖ $e[/]", e=error) if error is not None else "")

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        """Clear a field's error as soon as it is edited; it is checked again on submit."""
        if event.input.id and event.input.id.startswith("param-"):
            self._show_error(event.input.id.removeprefix("param-"), None)

    def focus_first(self) -> None:
        for name in self.spec.params:
            widget = self.query_one(f"#param-{name}")
            if isinstance(widget, Input) and not widget.value:
                widget.focus()
                return
        if self.spec.params:
            self.query_one(f"#param-{next(iter(self.spec.params))}").focus()
