"""Paging through the engine: printed or by webhook, once per window, on the timeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx

from graph.queries import PageTarget
from incidents.records import Event
from incidents.store import Store
from runbooks.engine import resume_run
from runbooks.environment import RunbookEnv
from runbooks.errors import RunbookError
from runbooks.paging import (
    PAGE_RUNBOOK_ID,
    REPEAT_WINDOW,
    STALE_AFTER,
    NobodyToPage,
    PageError,
    PageFailed,
    PageResult,
    page_key,
    page_people,
    people_to_page,
)
from tests.runbooks.demo_case import demo_catalog

TRAINING_DB = "resource:default/training-db"
WEBHOOK = "https://hooks.example/page"
#: 03:00:20 UTC on a Tuesday: 20 seconds into a paging window.
START = datetime(2026, 3, 10, 3, 0, 20, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.moment = START

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[Store]:
    opened = Store.open(database_url, clock=clock)
    opened.open_incident("Partial loads", TRAINING_DB, "SEV1", actor="alertmanager")
    try:
        yield opened
    finally:
        opened.close()


def targets(at: datetime = START) -> list[PageTarget]:
    return people_to_page(demo_catalog(), TRAINING_DB, at)


def page(
    store: Store,
    clock: Clock,
    tmp_path: Path,
    *,
    webhook: str | None = None,
    who: list[PageTarget] | None = None,
) -> PageResult:
    return page_people(
        store,
        "INC-1",
        targets(clock()) if who is None else who,
        "ana.lima",
        notify_webhook=webhook,
        workdir=tmp_path,
        now=clock(),
        catalog=demo_catalog(),
    )


def pages(store: Store) -> list[Event]:
    return [e for e in store.events("INC-1") if e.kind == "page"]


def test_the_people_to_page_are_on_call_for_the_asset_and_everything_it_feeds() -> None:
    found = {t.ref: t.reasons for t in targets()}
    assert "user:default/ana.lima" in found  # team-data's on call at 03:00 on 2026-03-10
    assert any("team-ml" in r for reasons in found.values() for r in reasons)  # models fed
    assert len(found) == len(targets())  # each person once


def test_without_a_webhook_the_page_is_printed_recorded_and_done_in_the_ledger(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    result = page(store, clock, tmp_path)
    assert result.sent and result.delivered == "printed"
    assert "INC-1: Partial loads" in result.message
    assert result.by == "user:default/ana.lima"
    (event,) = pages(store)
    assert event.actor == "user:default/ana.lima"
    assert event.data["delivered"] == "printed"
    assert event.data["to"] == [t.ref for t in targets()]
    assert event.data["key"] == result.key and event.data["run"] == result.run_id
    entry = store.ledger_get(result.key)
    assert entry is not None and (entry.status, entry.effect_count) == ("done", 1)
    run = store.get_run(result.run_id)
    assert (run.runbook_id, run.kind, run.status) == (PAGE_RUNBOOK_ID, "page", "done")


def test_the_webhook_gets_the_page_with_the_ledger_key_as_idempotency_key(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(WEBHOOK).mock(return_value=httpx.Response(202))
        result = page(store, clock, tmp_path, webhook=WEBHOOK)
    request = route.calls.last.request
    assert request.headers["Idempotency-Key"] == result.key
    body = json.loads(request.content)
    assert "INC-1" in body["text"] and body["incident"] == "INC-1"
    assert body["to"] == [t.ref for t in targets()]
    assert result.delivered == "webhook"
    assert pages(store)[0].data["delivered"] == "webhook"


def test_a_repeated_page_within_the_window_is_not_sent_and_says_when_it_was(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(WEBHOOK).mock(return_value=httpx.Response(200))
        first = page(store, clock, tmp_path, webhook=WEBHOOK)
        clock.advance(5)
        again = page(store, clock, tmp_path, webhook=WEBHOOK)
        clock.advance(REPEAT_WINDOW.total_seconds() - 10)  # in the next window, < a window later
        across = page(store, clock, tmp_path, webhook=WEBHOOK)
        assert route.call_count == 1
    for repeat in (again, across):
        assert repeat.status == "already_paged"
        assert (repeat.run_id, repeat.at, repeat.delivered) == (first.run_id, first.at, "webhook")
        assert "Already paged" in repeat.repeat_explained()
        assert f"{first.at:%H:%M:%S} UTC ({first.run_id}, by ana.lima)" in (
            repeat.repeat_explained()
        )
    assert len(pages(store)) == 1
    assert len(store.list_runs(incident_id="INC-1")) == 1


def test_the_same_people_in_another_order_are_the_same_page(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    first = page(store, clock, tmp_path)
    again = page(store, clock, tmp_path, who=list(reversed(targets())))
    assert again.status == "already_paged" and again.key == first.key


def test_a_page_a_window_later_or_to_other_people_is_sent(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    first = page(store, clock, tmp_path)
    someone_else = [PageTarget("user:default/maya.singh", "Maya Singh", None, ["escalation"])]
    other = page(store, clock, tmp_path, who=someone_else)
    assert other.sent and other.key != first.key
    clock.advance(REPEAT_WINDOW.total_seconds() + 1)
    later = page(store, clock, tmp_path)
    assert later.sent and later.run_id != first.run_id
    assert len(pages(store)) == 3


def test_a_failed_webhook_is_on_the_timeline_and_paging_again_retries_it(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(WEBHOOK)
        route.side_effect = [httpx.Response(503), httpx.Response(200)]
        with pytest.raises(PageFailed, match="answered 503"):
            page(store, clock, tmp_path, webhook=WEBHOOK)
        assert pages(store) == []
        notes = [e for e in store.events("INC-1") if e.kind == "note"]
        assert "failed" in notes[-1].message and "nobody was paged" in notes[-1].message
        failed_run = store.list_runs(incident_id="INC-1")[-1]
        assert failed_run.status == "failed"
        retried = page(store, clock, tmp_path, webhook=WEBHOOK)
        assert route.call_count == 2
    assert retried.sent and retried.run_id != failed_run.id
    entry = store.ledger_get(retried.key)
    assert entry is not None and (entry.status, entry.run_id) == ("done", retried.run_id)
    assert len(pages(store)) == 1


def test_a_page_in_flight_is_not_doubled(store: Store, clock: Clock, tmp_path: Path) -> None:
    key = page_key("INC-1", [t.ref for t in targets()], clock())
    sender = store.create_run(
        "INC-1", PAGE_RUNBOOK_ID, 1, "0" * 64, {}, "user:default/ben.okafor", kind="page"
    )
    store.ledger_intent(key, sender.id, "INC-1", "notify", {"payload": {"message": "m"}})
    waiting = page(store, clock, tmp_path)
    assert waiting.status == "already_paged" and waiting.delivered is None
    assert waiting.run_id == sender.id and waiting.by == "user:default/ben.okafor"
    assert "started at 03:00:20 UTC" in waiting.repeat_explained()
    assert "not confirmed yet" in waiting.repeat_explained()
    assert pages(store) == []


def test_a_page_whose_sender_died_long_ago_is_sent_again(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    key = page_key("INC-1", [t.ref for t in targets()], clock())
    sender = store.create_run(
        "INC-1", PAGE_RUNBOOK_ID, 1, "0" * 64, {}, "user:default/ben.okafor", kind="page"
    )
    clock.advance(-STALE_AFTER.total_seconds() - 1)  # that machine's clock wrote the intent
    store.ledger_intent(key, sender.id, "INC-1", "notify", {"payload": {"message": "m"}})
    clock.advance(STALE_AFTER.total_seconds() + 1)
    result = page(store, clock, tmp_path)
    assert result.sent and result.key == key
    entry = store.ledger_get(key)
    assert entry is not None and (entry.status, entry.run_id) == ("done", result.run_id)
    assert len(pages(store)) == 1


def test_nobody_to_page_is_refused_and_nothing_is_recorded(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    before = len(store.events("INC-1"))
    with pytest.raises(NobodyToPage, match="nobody to page"):
        page(store, clock, tmp_path, who=[])
    assert len(store.events("INC-1")) == before
    assert store.list_runs() == []


def test_a_closed_incident_pages_nobody(store: Store, clock: Clock, tmp_path: Path) -> None:
    store.set_status("INC-1", "resolved", actor="ana")
    with pytest.raises(PageError, match="INC-1 is resolved"):
        page(store, clock, tmp_path)
    assert pages(store) == [] and store.list_runs() == []


def test_a_page_run_is_not_resumed_as_a_runbook(store: Store, clock: Clock, tmp_path: Path) -> None:
    result = page(store, clock, tmp_path)
    env = RunbookEnv(root=tmp_path, runbooks_dir=tmp_path, lock_file=tmp_path / "runbooks.lock")
    with pytest.raises(RunbookError, match=rf"{result.run_id} is a page, not a runbook run"):
        resume_run(store=store, env=env, catalog=None, run_id=result.run_id, operator="ana")


def test_an_incident_title_with_template_syntax_is_paged_as_written(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    store.open_incident("{{ 7*7 }} rows {% if x %}", TRAINING_DB, actor="alertmanager")
    result = page_people(
        store,
        "INC-2",
        targets(),
        "ana.lima",
        notify_webhook=None,
        workdir=tmp_path,
        now=clock(),
        catalog=demo_catalog(),
    )
    assert "INC-2: {{ 7*7 }} rows {% if x %}" in result.message
