"""The app reloads the catalog when one of its files changes (issue 16): in a worker, with a
notice, and the screens use the new catalog from then on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import tui.app
from graph.watch import CatalogWatch
from tests.tui.conftest import settle
from tui.app import OncallApp

ASSET = "resource:default/training-db"


def _count_polls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """What each poll of the app's catalog watch found, in order."""
    polls: list[list[str]] = []
    original = CatalogWatch.poll

    def poll(self: CatalogWatch) -> list[str]:
        found = original(self)
        polls.append(found)
        return found

    monkeypatch.setattr(CatalogWatch, "poll", poll)
    return polls


async def _watching(pilot: object, app: OncallApp, polls: list[list[str]]) -> None:
    """Until the start-up worker has loaded the catalog and the watch has polled once."""
    for _ in range(600):
        await settle(pilot, app)
        if polls:
            return
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    raise AssertionError("the catalog watch never polled")


async def test_an_edited_catalog_file_is_reloaded_with_a_notice(
    make_app: Callable[..., OncallApp], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tui.app, "CATALOG_POLL_S", 0.05)
    app = make_app()
    notices: list[str] = []
    original = app.notify

    def notify(message: str, **kwargs: object) -> None:
        notices.append(message)
        original(message, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(app, "notify", notify)
    polls = _count_polls(monkeypatch)
    async with app.run_test() as pilot:
        await _watching(pilot, app, polls)
        before = app.backend.catalog()
        assert before.entities[ASSET].title == "Training database"
        data = workspace / "catalog" / "data.yaml"
        data.write_text(
            data.read_text(encoding="utf-8").replace(
                "title: Training database", "title: Training store"
            ),
            encoding="utf-8",
        )
        for _ in range(200):
            await pilot.pause(0.05)
            await settle(pilot, app)
            if notices:
                break
        assert notices == ["catalog reloaded: 1 file changed"]
        after = app.backend.catalog()
        assert after is not before
        assert after.entities[ASSET].title == "Training store"
        assert after.search_index is not None  # the new catalog's search index is built too


async def test_nothing_changed_means_no_reload(
    make_app: Callable[..., OncallApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tui.app, "CATALOG_POLL_S", 0.05)
    app = make_app()
    polls = _count_polls(monkeypatch)
    async with app.run_test() as pilot:
        await _watching(pilot, app, polls)
        before = app.backend.catalog()
        start = len(polls)
        while len(polls) < start + 3:
            await pilot.pause(0.05)
            await settle(pilot, app)
        assert app.backend.catalog() is before
        assert not any(polls[start:])
