"""Every key is documented, every action is in the palette, every error reads as advice."""

from __future__ import annotations

from textual.binding import Binding

from tests.tui.conftest import settle
from tui.problems import explain
from tui.screens.help import SCREENS, help_text


def test_the_help_lists_every_described_key_of_every_screen() -> None:
    from importlib import import_module

    text = help_text()
    for module_name, class_name, heading in SCREENS:
        cls = getattr(import_module(module_name), class_name)
        described = [
            b for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding) and b.description
        ]
        if described:
            assert heading in text
        for binding in described:
            assert (binding.tooltip or binding.description) in text, (class_name, binding.key)


async def test_help_starts_with_the_current_screens_keys_one_line_each(make_app, broken) -> None:
    from textual.widgets import Static

    from tui.screens.help import HelpScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        await settle(pilot, app)
        assert isinstance(app.screen, HelpScreen)
        lines = str(app.screen.query_one("#help-keys", Static).render()).splitlines()
        assert lines[0] == "Keys here (Incidents)"
        first_page = "\n".join(lines[:20])
        assert "enter" in first_page and "Open" in first_page  # the table's Enter
        assert "New incident" in first_page
        assert "Theme" in first_page  # everywhere: T, kept for next time
        await pilot.press("escape")
        await pilot.press("enter")  # INC-1
        await settle(pilot, app)
        await pilot.press("question_mark")
        await settle(pilot, app)
        lines = str(app.screen.query_one("#help-keys", Static).render()).splitlines()
        assert lines[0] == "Keys here (Incident)"
        here = lines[: lines.index("Everywhere")]
        assert any(line.split()[:1] == ["R"] for line in here)  # not in the footer: here
        assert all(len(line) <= 78 for line in lines)


def test_every_screen_module_is_in_the_help() -> None:
    from pathlib import Path

    import tui.screens

    listed = {module for module, _cls, _heading in SCREENS}
    folder = Path(tui.screens.__file__).parent
    for path in folder.glob("*.py"):
        name = f"tui.screens.{path.stem}"
        if path.stem in {"__init__", "base", "help", "run_prompter"}:
            continue
        assert name in listed, f"{name} has keys that the help does not list"


def test_errors_become_a_message_and_a_next_step_never_a_traceback() -> None:
    from incidents.errors import IncidentNotFound
    from workspace.errors import WorkspaceError

    problem = explain(IncidentNotFound("INC-9"))
    assert problem.message == "no incident INC-9"
    assert "pick an incident" in problem.next_step
    assert "oncall.toml" in explain(WorkspaceError("bad")).next_step
    unknown = explain(ZeroDivisionError("division by zero"))
    assert unknown.message.startswith("Unexpected error (ZeroDivisionError)")
    assert "bug" in unknown.next_step


async def test_the_palette_offers_the_current_screens_keys_as_commands(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        names = [command.title for command in app.get_system_commands(app.screen)]
        assert "New incident" in names
        assert "Owners" in names
        assert "Help" in names
        await pilot.press("ctrl+p")
        await pilot.press(*"new incid")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "NewIncidentScreen"


def test_errors_are_matched_by_their_classes_most_specific_first() -> None:
    import sqlalchemy.exc

    from runbooks.errors import NotPermitted, RunbookError
    from runbooks.vetting import NotVetted

    # A subclass is matched through its class (NotVetted is a VettingError), not by its name.
    assert "reviewer" in explain(NotVetted("x is not vetted")).next_step
    assert explain(RunbookError("bad")).next_step.startswith("Fix the runbook file")
    # A class with the right name but from elsewhere is not ours: it is a bug, said as one.
    impostor = type("LeaseHeld", (Exception,), {})
    assert explain(impostor("held")).message.startswith("Unexpected error (LeaseHeld)")
    refused = explain(NotPermitted("erin may not", None))
    assert "break glass" in refused.next_step and "--" not in refused.next_step
    down = sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("unable to open database"))
    problem = explain(down)
    assert problem.message == "unable to open database"
    assert "cannot be reached" in problem.next_step
