"""Asset leases: acquire, heartbeat, release, expiry and force, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from incidents.errors import InvalidValue, LeaseHeld, LeaseLost
from incidents.leases import Lease
from incidents.store import Store
from tests.incidents.helpers import ManualClock

ASSET = "resource:default/training-db"


@pytest.fixture
def runs(store: Store) -> tuple[str, str]:
    incident = store.open_incident("Partial loads", ASSET, actor="alice")
    first = store.create_run(incident.id, "partial-load", 3, "c" * 64, {}, "alice").id
    second = store.create_run(incident.id, "partial-load", 3, "c" * 64, {}, "bob").id
    return first, second


def _acquire(
    store: Store, run_id: str, holder: str = "alice", host: str = "laptop-a", ttl: float = 60
) -> Lease:
    return store.acquire_lease(ASSET, holder, "INC-1", run_id, ttl, host)


def test_a_free_asset_is_leased_until_its_ttl_runs_out(
    store: Store, runs: tuple[str, str], clock: ManualClock
) -> None:
    lease = _acquire(store, runs[0])
    assert (lease.asset, lease.holder, lease.incident_id, lease.run_id, lease.host) == (
        ASSET,
        "alice",
        "INC-1",
        runs[0],
        "laptop-a",
    )
    assert lease.acquired_at == lease.heartbeat_at == clock.now
    assert (lease.expires_at - clock.now).total_seconds() == 60
    assert store.get_lease(ASSET) == lease


def test_a_second_run_is_refused_with_who_holds_it_since_when_and_from_where(
    store: Store, runs: tuple[str, str]
) -> None:
    held = _acquire(store, runs[0])
    with pytest.raises(LeaseHeld) as refused:
        _acquire(store, runs[1], holder="bob", host="laptop-b")
    assert refused.value.lease == held
    message = str(refused.value)
    assert all(part in message for part in ("alice", runs[0], "INC-1", "laptop-a", "since"))
    assert store.get_lease(ASSET) == held


def test_the_holding_run_reacquiring_renews_and_keeps_its_start(
    store: Store, runs: tuple[str, str], clock: ManualClock
) -> None:
    first = _acquire(store, runs[0])
    clock.advance(30)
    again = _acquire(store, runs[0], holder="carol")  # handed over to another operator
    assert (again.acquired_at, again.heartbeat_at, again.holder) == (
        first.acquired_at,
        clock.now,
        "carol",
    )


def test_an_expired_lease_is_taken_over_by_another_run(
    store: Store, runs: tuple[str, str], clock: ManualClock
) -> None:
    _acquire(store, runs[0])
    clock.advance(61)
    taken = _acquire(store, runs[1], holder="bob", host="laptop-b")
    assert (taken.run_id, taken.holder, taken.acquired_at) == (runs[1], "bob", clock.now)


def test_a_heartbeat_keeps_a_lease_alive_past_its_first_ttl(
    store: Store, runs: tuple[str, str], clock: ManualClock
) -> None:
    _acquire(store, runs[0])
    for _ in range(3):
        clock.advance(45)
        store.heartbeat_lease(ASSET, runs[0], 60)
    with pytest.raises(LeaseHeld):
        _acquire(store, runs[1], holder="bob")


def test_a_heartbeat_after_losing_the_lease_says_who_has_it_now(
    store: Store, runs: tuple[str, str], clock: ManualClock
) -> None:
    _acquire(store, runs[0])
    clock.advance(120)
    _acquire(store, runs[1], holder="bob", host="laptop-b")
    with pytest.raises(LeaseLost, match=f"now held by bob \\(run {runs[1]}\\) from laptop-b"):
        store.heartbeat_lease(ASSET, runs[0], 60)


def test_a_released_lease_frees_the_asset_and_releasing_twice_is_harmless(
    store: Store, runs: tuple[str, str]
) -> None:
    _acquire(store, runs[0])
    assert store.release_lease(ASSET, runs[1]) is False  # not the holder: nothing happens
    assert store.release_lease(ASSET, runs[0]) is True
    assert store.release_lease(ASSET, runs[0]) is False
    assert store.get_lease(ASSET) is None
    assert _acquire(store, runs[1], holder="bob").run_id == runs[1]


def test_forcing_takes_a_live_lease_and_returns_the_one_it_replaced(
    store: Store, runs: tuple[str, str]
) -> None:
    held = _acquire(store, runs[0])
    forced, previous = store.force_lease(ASSET, "bob", "INC-1", runs[1], 60, "laptop-b")
    assert previous == held
    assert (forced.run_id, forced.holder) == (runs[1], "bob")
    with pytest.raises(LeaseLost):
        store.heartbeat_lease(ASSET, runs[0], 60)


def test_forcing_a_free_asset_has_no_previous_holder(store: Store, runs: tuple[str, str]) -> None:
    forced, previous = store.force_lease(ASSET, "bob", None, runs[1], 60, "laptop-b")
    assert previous is None and forced.incident_id is None


def test_a_lease_needs_a_positive_ttl(store: Store, runs: tuple[str, str]) -> None:
    with pytest.raises(InvalidValue, match="positive TTL"):
        _acquire(store, runs[0], ttl=0)


def test_leases_are_listed_by_run(store: Store, runs: tuple[str, str]) -> None:
    store.acquire_lease("resource:default/a", "alice", None, runs[0], 60, "h")
    store.acquire_lease("resource:default/b", "bob", None, runs[1], 60, "h")
    assert [lease.asset for lease in store.list_leases(runs[0])] == ["resource:default/a"]
    assert len(store.list_leases()) == 2


def test_of_many_runs_racing_for_a_free_asset_exactly_one_wins(store: Store) -> None:
    run_ids = [
        store.create_run(None, "rb", 1, "c" * 64, {}, f"op{n}", dry_run=True).id for n in range(6)
    ]
    barrier = threading.Barrier(len(run_ids))
    winners: list[str] = []
    refused: list[str] = []

    def race(run_id: str) -> None:
        barrier.wait()
        try:
            winners.append(store.acquire_lease(ASSET, run_id, None, run_id, 60, "h").run_id)
        except LeaseHeld as exc:
            refused.append(exc.lease.run_id)

    threads = [threading.Thread(target=race, args=(r,)) for r in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(refused) == len(run_ids) - 1
    assert set(refused) == set(winners)
