"""Help: the keys of the screen you came from first, one line each; then the keys that work
everywhere, the other screens' keys, and a few lines of prose at the end.

Generated from the screens' and widgets' own bindings, so it cannot go stale. At 80x24 the
first page answers "what can I press here?" without scrolling.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from importlib.resources import files

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Markdown, Static

from tui.screens.base import OncallScreen
from tui.widgets.title_bar import TitleBar

# (module, class, heading): the screens whose keys are listed, in the order an operator meets them.
SCREENS: tuple[tuple[str, str, str], ...] = (
    ("tui.screens.incidents", "IncidentsScreen", "Incidents"),
    ("tui.widgets.incident_table", "IncidentTable", "Incidents (the list)"),
    ("tui.screens.new_incident", "NewIncidentScreen", "Open an incident (dialog)"),
    ("tui.screens.incident", "IncidentScreen", "Incident"),
    ("tui.widgets.dependency_tree", "DependencyTree", "Blast radius and upstream trees"),
    ("tui.screens.plan", "PlanScreen", "Recovery plan"),
    ("tui.screens.runbook_run", "RunbookRunScreen", "Runbook run"),
    ("tui.screens.confirm_destructive", "ConfirmDestructive", "Destructive step (dialog)"),
    ("tui.screens.break_glass", "BreakGlassScreen", "Break glass (dialog)"),
    ("tui.screens.choice", "ChoiceScreen", "Questions with answers (dialog)"),
    ("tui.screens.graph", "GraphScreen", "Owners & assets"),
    ("tui.screens.postmortem", "PostmortemScreen", "Postmortem draft"),
    ("tui.screens.prompt", "TextPromptScreen", "Questions (note, reason)"),
)

#: Keys every screen has, and the ones Textual gives every tree.
EVERYWHERE: tuple[tuple[str, str], ...] = (
    ("esc", "Back one screen (a dialog: cancel)"),
    ("?", "This help (f1 too)"),
    ("g", "Owners and assets: search the catalog"),
    ("T", "Theme: dark or light (kept for next time)"),
    ("ctrl+p", "Command palette: every key of this screen, every asset by name"),
    ("tab", "Next field or panel"),
    ("ctrl+q", "Quit"),
)

KEY_WIDTH = 10


def _display(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    keys = [k.strip() for k in binding.key.split(",")]
    return ", ".join("?" if k == "question_mark" else k for k in keys)


def _rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for item in bindings:
        binding = item if isinstance(item, Binding) else Binding(*item)
        if not binding.description:
            continue
        rows.append((_display(binding), binding.tooltip or binding.description))
    return rows


def _line(key: str, what: str) -> Content:
    return Content.assemble("  ", (f"{key:<{KEY_WIDTH}}", "bold"), " ", what)


def _heading(text: str) -> Content:
    return Content.assemble((text, "bold underline"))


#: Keys Textual's own widgets give that an operator needs (the rest is cursor movement).
WIDGET_KEYS: dict[str, str] = {
    "toggle_node": "Open or close the node under the cursor",
    "select_cursor": "Select: show the path (tree), open (list)",
}


def _ours(node: object, binding: Binding) -> bool:
    """Whether a binding is one of ours (defined by a `tui` class), not a Textual widget's
    cursor keys, which would push the keys that matter off the first page."""
    for cls in type(node).__mro__:
        if binding in cls.__dict__.get("BINDINGS", []):
            return cls.__module__.startswith("tui.")
    return False


def screen_rows(screen: Screen[object]) -> list[tuple[str, str]]:
    """The keys active on `screen` now (its focused widget's first), the app's excepted."""
    rows: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if active.node is screen.app:
            continue
        if not _ours(active.node, binding):
            if binding.action not in WIDGET_KEYS:
                continue
            binding = Binding(binding.key, binding.action, WIDGET_KEYS[binding.action])
        for key, what in _rows([binding]):
            if (key, what) not in seen:
                seen.add((key, what))
                rows.append((key, what))
    return rows


def _class_rows(module_name: str, class_name: str) -> list[tuple[str, str]]:
    try:
        cls = getattr(import_module(module_name), class_name)
    except (ImportError, AttributeError):
        return []
    return _rows(cls.__dict__.get("BINDINGS", []))


def keys_content(origin: Screen[object] | None = None, origin_name: str = "") -> Content:
    """Keys of `origin` first, then everywhere, then every other screen, one line each."""
    lines: list[Content] = []
    skip = type(origin).__name__ if origin is not None else ""
    if origin is not None:
        lines.append(_heading(f"Keys here ({origin_name or skip})"))
        lines.extend(_line(k, w) for k, w in screen_rows(origin) if k != "esc")
        lines.append(Content(""))
    lines.append(_heading("Everywhere"))
    lines.extend(_line(k, w) for k, w in EVERYWHERE)
    for module_name, class_name, heading in SCREENS:
        if class_name == skip:
            continue
        rows = _class_rows(module_name, class_name)
        if not rows:
            continue
        lines.append(Content(""))
        lines.append(_heading(heading))
        lines.extend(_line(k, w) for k, w in rows)
    return Content("\n").join(lines)


def help_text(origin: Screen[object] | None = None) -> str:
    """Everything the help shows, as plain text (what tests and the CLI read)."""
    return f"{keys_content(origin).plain}\n\n{_prose()}"


def _prose() -> str:
    return files("tui").joinpath("help.md").read_text(encoding="utf-8")


def _origin_name(screen: Screen[object] | None) -> str:
    for _module, class_name, heading in SCREENS:
        if screen is not None and type(screen).__name__ == class_name:
            return heading
    return ""


class HelpScreen(OncallScreen[None]):
    """The keys of the screen it was opened from first; escape returns."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, origin: Screen[object] | None = None) -> None:
        super().__init__()
        self.origin = origin

    def compose(self) -> ComposeResult:
        yield TitleBar("Help")
        with VerticalScroll(id="help"):
            yield Static(keys_content(self.origin, _origin_name(self.origin)), id="help-keys")
            yield Markdown(_prose(), id="help-prose")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#help", VerticalScroll).focus()
