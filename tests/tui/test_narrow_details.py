"""80x24 details of the run screen's dialogs and notices: the break-glass refusal fits its
notice, contact lines wrap under themselves, the destructive dialog's action scrolls by keys
(named on screen), and a destructive step's head says what will really happen to it."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from tests.tui.conftest import settle
from tests.tui.test_run_keys import _started
from tests.tui.test_run_safety import _open_run
from tui.screens.break_glass import BreakGlassScreen
from tui.screens.confirm_destructive import ConfirmDestructive
from tui.widgets.notice import Notice
from tui.widgets.step_detail import DESTRUCTIVE_PENDING, StepDetail


def _fits(widget: Static) -> bool:
    """Whether every wrapped line of the widget's text is on screen (none cut by a max)."""
    region = widget.content_region
    needed = widget.get_content_height(region.size, widget.app.size, region.width)
    return region.height >= needed


async def test_the_break_glass_refusal_fits_its_notice_and_contacts_wrap_under_themselves(
    make_app, broken
) -> None:
    app = make_app(operator="user:default/erin.walsh")  # not an owner of training-db
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_run(app, pilot)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, BreakGlassScreen)
        contacts = list(dialog.query(".contact-line").results(Static))
        assert contacts
        for line in contacts:  # indented by padding: a wrapped line stays under the first
            assert line.styles.padding.left == 2
            assert "training-db: owned by team-data" in str(line.render())
        text = " ".join(str(w.render()) for w in dialog.query(".dialog-text").results(Static))
        assert "erin.walsh is neither an owner" in text and "user:default/" not in text
        await pilot.press("escape")
        await settle(pilot, app)
        notice = screen.query_one(Notice)
        said = str(notice.render())
        assert "Call instead: training-db" in said and "with a reason" in said
        assert _fits(notice), said


async def test_the_destructive_dialog_scrolls_its_action_by_keys_and_names_them(
    make_app, broken
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _started(app, pilot)
        await pilot.press("a")
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDestructive)
        await pilot.pause()
        scroll = dialog.query_one("#destructive-scroll", VerticalScroll)
        assert scroll.max_scroll_y > 0  # at 80x24 the DELETE does not fit
        keys = str(dialog.query_one("#destructive-scroll-keys", Static).render())
        assert "shift+↓/↑" in keys and "more below" in keys
        await pilot.press("shift+down")
        assert scroll.scroll_y > 0
        await pilot.press("t")  # the name's input kept the focus
        assert dialog.query_one("#confirm-name").value == "t"
        await pilot.press("shift+up")
        assert scroll.scroll_y == 0
        await pilot.press("escape")
        await settle(pilot, app)


async def test_a_destructive_steps_head_says_what_will_happen_not_always_the_typed_name(
    make_app, broken
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _started(app, pilot)
        for _ in range(3):  # pause-etl, snapshot-partial, then delete-partial asks the name
            await pilot.press("x")
            await settle(pilot, app)
        assert isinstance(app.screen, ConfirmDestructive)
        await pilot.press("escape")  # the name not typed: delete-partial stays the current step
        await settle(pilot, app)
        assert screen._current().id == "delete-partial"
        head = screen.query_one(StepDetail).text
        assert DESTRUCTIVE_PENDING in head
        assert "you will type the name" not in head
