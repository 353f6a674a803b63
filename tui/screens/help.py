"""Every key of every screen, generated from the screens' own bindings so it cannot go stale."""

from __future__ import annotations

from importlib import import_module
from importlib.resources import files

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, MarkdownViewer

from tui.screens.base import OncallScreen
from tui.widgets.title_bar import TitleBar

# (module, class, heading): the screens whose keys are listed, in the order an operator meets them.
SCREENS: tuple[tuple[str, str, str], ...] = (
    ("tui.app", "OncallApp", "Everywhere"),
    ("tui.screens.base", "OncallScreen", "Every screen"),
    ("tui.screens.incidents", "IncidentsScreen", "Incidents"),
    ("tui.screens.new_incident", "NewIncidentScreen", "Open an incident (dialog)"),
    ("tui.screens.incident", "IncidentScreen", "Incident"),
    ("tui.screens.plan", "PlanScreen", "Recovery plan"),
    ("tui.screens.runbook_run", "RunbookRunScreen", "Runbook run"),
    ("tui.screens.confirm_destructive", "ConfirmDestructive", "Destructive step (dialog)"),
    ("tui.screens.choice", "ChoiceScreen", "Engine questions (dialog)"),
    ("tui.screens.graph", "GraphScreen", "Owners & assets"),
    ("tui.screens.postmortem", "PostmortemScreen", "Postmortem draft"),
    ("tui.screens.prompt", "TextPromptScreen", "Questions (note, reason)"),
)


def _rows(bindings: list[BindingType]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for item in bindings:
        binding = item if isinstance(item, Binding) else Binding(*item)
        if not binding.description:
            continue
        keys = ", ".join(k.strip() for k in binding.key.split(","))
        keys = binding.key_display or keys
        what = binding.tooltip or binding.description
        rows.append((keys.replace("question_mark", "?"), what))
    return rows


def keys_markdown() -> str:
    """A table of keys per screen, from each screen's BINDINGS."""
    parts = ["## Keys"]
    for module_name, class_name, heading in SCREENS:
        try:
            cls = getattr(import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        rows = _rows(list(cls.__dict__.get("BINDINGS", [])))
        if not rows:
            continue
        parts.append(f"### {heading}\n\n| Key | Does |\n|---|---|")
        parts.extend(f"| `{key}` | {what} |" for key, what in rows)
        parts.append("")
    return "\n".join(parts)


def help_markdown() -> str:
    intro = files("tui").joinpath("help.md").read_text(encoding="utf-8")
    return f"{intro}\n\n{keys_markdown()}"


class HelpScreen(OncallScreen[None]):
    """The help text and the keys of every screen; escape returns."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield TitleBar("Help")
        yield MarkdownViewer(help_markdown(), show_table_of_contents=False, id="help")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(MarkdownViewer).focus()
