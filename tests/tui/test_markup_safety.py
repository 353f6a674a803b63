"""Text that looks like Rich/Textual markup is shown as typed, on every screen, never parsed.

An incident title such as `Disk full on [/mnt/train] volume` once crashed the app at start-up
(the incidents table read the cell as markup). Titles, notes, operator-written reasons, catalog
text and SQL reach the screen from people and files; none of it may be read as markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tui.conftest import OPERATOR, settle
from tui.app import OncallApp
from tui.screens.choice import ChoiceScreen
from tui.screens.confirm_destructive import ConfirmDestructive
from tui.screens.incident import IncidentScreen
from tui.screens.prompt import TextPromptScreen
from tui.widgets.incident_table import IncidentTable
from tui.widgets.timeline import Timeline

# The shapes that broke or could break a markup parser: closing tags, unknown styles, variables,
# links, escapes, unbalanced brackets.
KNOWN = [
    "Disk full on [/mnt/train] volume",
    "[b]bold?[/i]",
    "[link=http://x]x",
    "$variable [$error]red[/]",
    "[@click=app.quit]quit[/]",
    "\\[escaped] and \\",
    "DELETE FROM loads WHERE tag = '[/]'",
    "[",
    "]",
    "[/]",
]

markup_like = st.one_of(
    st.sampled_from(KNOWN),
    st.text(alphabet="[]/=$@\\:#ab ", min_size=1, max_size=24),
).map(lambda s: f"x{s}".strip())  # the store strips titles and refuses blank ones


def _run(make_app: Callable[..., OncallApp], open_store, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    store = open_store()
    ids = []
    for text in texts:
        incident = store.open_incident(text, "resource:default/training-db", actor=OPERATOR)
        store.append_event(incident.id, "note", text, actor=OPERATOR)
        ids.append(incident.id)

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, app)
            table = app.screen.query_one(IncidentTable)
            assert table.row_count >= len(texts)
            shown = {str(table.get_row(i)[-1]) for i in ids}
            assert shown == set(texts)  # as typed, brackets and all
            app.open_incident(ids[-1])
            await settle(pilot, app)
            screen = app.screen
            assert isinstance(screen, IncidentScreen)
            for panel in ("2", "3", "4"):
                await pilot.press(panel)
                await pilot.pause()
            timeline = screen.query_one(Timeline)
            lines = [
                str(timeline.get_option_at_index(i).prompt) for i in range(timeline.option_count)
            ]
            assert any(texts[-1] in line for line in lines)
            for modal in (
                ChoiceScreen(texts[0], texts[-1], [("yes", texts[0], "y")], detail=texts[-1]),
                TextPromptScreen(texts[0], texts[-1], placeholder=texts[0], submit="Save"),
                ConfirmDestructive(texts[0], texts[-1], texts[-1]),
            ):
                app.push_screen(modal)
                await pilot.pause()
                await pilot.press("escape")
                await pilot.pause()
            app.open_postmortem(ids[-1])
            await settle(pilot, app)
            await pilot.press("escape")
            await pilot.press("g")
            await settle(pilot, app)
            await pilot.press(*texts[0][:6])
            await settle(pilot, app)

    asyncio.run(scenario())


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts=st.lists(markup_like, min_size=1, max_size=3, unique=True))
def test_markup_like_text_is_shown_as_typed_on_every_screen(make_app, open_store, texts) -> None:  # type: ignore[no-untyped-def]
    _run(make_app, open_store, texts)


def test_the_bracketed_title_from_the_report_does_not_crash_the_app(make_app, open_store) -> None:  # type: ignore[no-untyped-def]
    _run(make_app, open_store, KNOWN)
