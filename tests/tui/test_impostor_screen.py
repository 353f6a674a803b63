"""The app names both definitions of an asset defined twice and no owner (owner lookup)."""

from __future__ import annotations

from pathlib import Path

from tests.graph.test_impostors import GHOST_OWNED, IMPOSTOR
from tests.tui.conftest import settle, type_text
from tui.screens.graph import GraphScreen
from tui.widgets.ownership import OwnershipPanel


async def test_owner_lookup_shows_both_definitions_and_no_owner(make_app, workspace: Path) -> None:
    (workspace / "catalog" / "aa-impostor.yaml").write_text(IMPOSTOR)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("g")
        assert isinstance(app.screen, GraphScreen)
        await type_text(pilot, "training-db")
        await settle(pilot, app)
        assert app.screen.current_ref == "resource:default/training-db"
        text = str(app.screen.query_one(OwnershipPanel).render())
        assert "Owner      ⚠ unknown: defined twice" in text
        assert "aa-impostor.yaml:" in text and "(owner group:default/team-commerce)" in text
        assert "data.yaml:" in text and "(owner group:default/team-data)" in text
        assert "On call" not in text


async def test_owner_lookup_marks_an_owner_that_is_not_in_the_catalog(
    make_app, workspace: Path
) -> None:
    (workspace / "catalog" / "ghost.yaml").write_text(GHOST_OWNED)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("g")
        await type_text(pilot, "orphan-job")
        await settle(pilot, app)
        text = str(app.screen.query_one(OwnershipPanel).render())
        assert "ghost-team (not in the catalog)" in text
