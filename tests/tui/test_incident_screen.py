"""One incident: keys that move its status and write its timeline, the lazy blast radius."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import OPERATOR, settle
from tui.screens.incident import IncidentScreen
from tui.screens.postmortem import PostmortemScreen
from tui.screens.prompt import TextPromptScreen
from tui.widgets.dependency_tree import DependencyTree
from tui.widgets.incident_header import IncidentHeader
from tui.widgets.people import PeoplePanel
from tui.widgets.timeline import Timeline


async def _open(app, pilot, incident_id: str = "INC-1") -> IncidentScreen:  # type: ignore[no-untyped-def]
    await settle(pilot, app)
    app.open_incident(incident_id)
    await settle(pilot, app)
    assert isinstance(app.screen, IncidentScreen)
    return app.screen


def _timeline_text(screen: IncidentScreen) -> list[str]:
    timeline = screen.query_one(Timeline)
    return [str(timeline.get_option_at_index(i).prompt) for i in range(timeline.option_count)]


async def test_a_acknowledges_and_the_header_and_timeline_say_so_in_words(
    make_app, open_store, clock
) -> None:
    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    clock.advance(minutes=7, seconds=5)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        header = str(screen.query_one(IncidentHeader).render())
        assert "● open" in header
        assert "7m 05s since detected" in header
        assert "not acknowledged" in header
        await pilot.press("a")
        await settle(pilot, app)
        clock.advance(minutes=1)
        screen.query_one(IncidentHeader).refresh()
        header = str(screen.query_one(IncidentHeader).render())
        assert "◐ acknowledged" in header
        assert "1m 00s since ack" in header
        assert open_store().get_incident("INC-1").status == "acknowledged"
        assert any("open → acknowledged" in line for line in _timeline_text(screen))


async def test_a_note_goes_on_the_timeline_under_the_operators_name(make_app, open_store) -> None:
    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("n")
        assert isinstance(app.screen, TextPromptScreen)
        await pilot.press("enter")  # empty: refused, the prompt stays
        assert isinstance(app.screen, TextPromptScreen)
        await pilot.press(*"paused ETL", "enter")
        await settle(pilot, app)
        events = open_store().events("INC-1")
        assert (events[-1].kind, events[-1].message, events[-1].actor) == (
            "note",
            "paused ETL",
            OPERATOR,
        )
        assert any("✎ note paused ETL" in line for line in _timeline_text(screen))


async def test_status_keys_that_would_go_backwards_are_disabled(make_app, open_store) -> None:
    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("R")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        assert open_store().get_incident("INC-1").status == "resolved"
        assert screen.check_action("acknowledge", ()) is None
        assert screen.check_action("mitigated", ()) is None
        await pilot.press("a")
        await settle(pilot, app)
        assert open_store().get_incident("INC-1").status == "resolved"


async def test_the_blast_radius_opens_expanded_to_what_fits_and_focused(
    make_app, open_store
) -> None:
    from textual.widgets import Static

    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        tree = screen.query_one("#blast-tree", DependencyTree)
        assert tree.index is not None
        assert app.focused is tree  # the arrows move through it at once
        first_level = [node.data.ref for node in tree.root.children]
        assert first_level == tree.index.children[tree.index.root]
        # The demo's ten assets fit at 80x24: every level is open without a key.
        shown, stack = 0, list(tree.root.children)
        while stack:
            node = stack.pop()
            shown += 1
            assert not node.allow_expand or node.is_expanded
            stack.extend(node.children)
        assert shown == len(tree.index) == 10
        await pilot.press("down")
        await pilot.pause()
        path = str(screen.query_one("#blast-path", Static).render())
        assert path.endswith("(1 hop)")
        await pilot.press("down")
        await pilot.pause()
        assert str(screen.query_one("#blast-path", Static).render()).endswith("(2 hops)")


async def test_who_to_call_names_the_people_on_call_for_the_affected_teams(
    make_app, open_store
) -> None:
    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        text = screen.query_one(PeoplePanel).text
        assert "On call by affected team" in text
        assert "team-data" in text
        assert "team-ml" in text
        assert "☎" in text


async def test_shift_p_drafts_the_postmortem_and_s_saves_it_in_the_workspace(
    make_app, open_store, workspace
) -> None:
    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot)
        await pilot.press("P")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, PostmortemScreen)
        assert screen.preview is not None
        assert "Partial loads" in screen.preview.markdown
        await pilot.press("s")
        await settle(pilot, app)
        assert screen.saved is not None
        assert screen.saved.path.parent == workspace / "postmortems"
        assert screen.saved.path.read_text(encoding="utf-8").count("Partial loads") >= 1
        shown = Path(screen.saved.shown_as)
        assert shown.is_absolute() and shown.parent == (workspace / "postmortems").resolve()
        assert shown.name.startswith("2026-03-10-")


async def test_p_pages_the_people_to_call_and_the_timeline_records_it(
    make_app, broken, open_store
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("p")
        await settle(pilot, app)
        notice = str(screen.query_one("#notice").render())
        assert "No notify_webhook in oncall.toml" in notice
    pages = [e for e in open_store().events("INC-1") if e.kind == "page"]
    assert len(pages) == 1
    assert pages[0].data["delivered"] == "printed"
    assert "user:default/ana.lima" in pages[0].data["to"]  # on call for team-data at 03:00


async def test_p_posts_to_the_workspace_webhook_with_an_idempotency_key(
    make_app, broken, open_store, workspace
) -> None:
    import json

    import respx
    from httpx import Response

    config = workspace / "oncall.toml"
    head, _, tail = config.read_text(encoding="utf-8").partition("[connections]")
    webhook = 'notify_webhook = "https://hooks.example/page"\n'  # a top-level key: before tables
    config.write_text(f"{head}{webhook}[connections]{tail}", encoding="utf-8")
    app = make_app()
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://hooks.example/page").mock(return_value=Response(200))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open(app, pilot)
            await pilot.press("p")
            await settle(pilot, app)
            assert "Paged" in str(screen.query_one("#notice").render())
        request = route.calls.last.request
        assert request.headers["Idempotency-Key"]
        body = json.loads(request.content)
        assert "INC-1" in body["text"]
        assert "user:default/ana.lima" in body["to"]
    pages = [e for e in open_store().events("INC-1") if e.kind == "page"]
    assert pages[-1].data["delivered"] == "webhook"


async def test_pressing_p_again_within_a_minute_pages_nobody_twice(
    make_app, broken, open_store, clock
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("p")
        await settle(pilot, app)
        clock.advance(seconds=30)
        await pilot.press("p")
        await settle(pilot, app)
        notice = str(screen.query_one("#notice").render())
        assert "Already paged" in notice and "03:00:00 UTC" in notice
        assert "not sent again" in notice
    pages = [e for e in open_store().events("INC-1") if e.kind == "page"]
    assert len(pages) == 1
    runs = open_store().list_runs(incident_id="INC-1")
    assert [r.kind for r in runs] == ["page"]


async def test_paging_many_people_asks_first(make_app, broken, open_store, monkeypatch) -> None:
    import tui.screens.incident as incident_module
    from tui.screens.choice import ChoiceScreen

    monkeypatch.setattr(incident_module, "PAGE_WITHOUT_ASKING", 1)  # the demo pages three
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot)
        await pilot.press("p")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("n")
        await settle(pilot, app)
        assert not [e for e in open_store().events("INC-1") if e.kind == "page"]
        await pilot.press("p")
        await pilot.press("y")
        await settle(pilot, app)
    assert len([e for e in open_store().events("INC-1") if e.kind == "page"]) == 1


async def test_resolving_asks_first_naming_the_incident_and_what_is_still_open(
    make_app, open_store
) -> None:
    from tui.screens.choice import ChoiceScreen

    store = open_store()
    store.open_incident("Partial loads", "resource:default/training-db", "SEV1", actor=OPERATOR)
    run = store.create_run("INC-1", "training-store-partial-load", 1, "0" * 64, {}, OPERATOR, False)
    store.set_run_status(run.id, "interrupted")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot)
        for key in ("R", "m"):
            await pilot.press(key)
            await settle(pilot, app)
            dialog = app.screen
            assert isinstance(dialog, ChoiceScreen)
            assert "INC-1" in dialog.question_title
            assert "SEV1 · Partial loads" in dialog.text
            assert f"{run.id} training-store-partial-load is interrupted" in dialog.text
            await pilot.press("enter")  # the focused answer is "Not now": a reflex changes nothing
            await settle(pilot, app)
            assert open_store().get_incident("INC-1").status == "open"
        await pilot.press("m")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        assert open_store().get_incident("INC-1").status == "mitigated"


async def test_acknowledging_takes_command_and_shift_c_takes_it_over(make_app, open_store) -> None:
    open_store().open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press("a")
        await settle(pilot, app)
        assert "commander ana.lima" in str(screen.query_one(IncidentHeader).render())
    assert open_store().get_incident("INC-1").commander == OPERATOR
    other = make_app(operator="user:default/ben.okafor")
    async with other.run_test(size=(80, 24)) as pilot:
        screen = await _open(other, pilot)
        await pilot.press("C")
        await settle(pilot, other)
        assert "commander ben.okafor" in str(screen.query_one(IncidentHeader).render())
        assert any("takes command from" in line for line in _timeline_text(screen))
    assert open_store().get_incident("INC-1").commander == "user:default/ben.okafor"


async def test_a_timeline_that_does_not_verify_is_never_shown_as_whole(
    make_app, open_store, workspace
) -> None:
    import sqlite3

    from tui.widgets.notice import Notice

    store = open_store()
    store.open_incident("Partial loads", "resource:default/training-db", actor=OPERATOR)
    store.append_event("INC-1", "note", "paused ETL", OPERATOR)
    with sqlite3.connect(workspace / ".oncall" / "state.db") as db:
        db.execute("DROP TRIGGER events_append_only_update")
        db.execute("UPDATE events SET message = 'did nothing' WHERE seq = 2")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot)
        notice = screen.query_one(Notice)
        assert notice.is_showing
        assert "This timeline does NOT verify at event #2" in str(notice.render())


async def test_resolving_names_the_contaminated_assets_the_recovery_has_not_recovered(
    make_app, broken, open_store
) -> None:
    from tui.screens.choice import ChoiceScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        for _ in range(3000):  # a bound: the run history is read for the plan
            if screen.plan is not None:
                break
            await pilot.pause(0.01)
        assert screen.plan is not None
        await pilot.press("R")
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen)
        assert "training-db is contaminated and not recovered" in dialog.text
        assert "demand-forecast is contaminated and not recovered" in dialog.text
        assert "Nothing is still open" not in dialog.text
        await pilot.press("enter")  # "Not now"
        await settle(pilot, app)
    assert open_store().get_incident("INC-1").status == "open"
