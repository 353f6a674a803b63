"""Fifty processes try to take one asset's lease at the same moment: exactly one wins.

Each process opens its own store and goes through the engine's `LeaseKeeper` (what a run does
before its first effect); a barrier releases them together. Run on a SQLite file and on the
real PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from incidents.store import Store
from runbooks.leasing import LeaseKeeper, LeaseRefused
from tests.processes import CHILDREN

PROCESSES = 50
ASSET = "resource:default/training-db"
WON, REFUSED = 10, 11


def _contend(url: str, number: int, barrier: Any) -> None:
    store = Store.open(url)
    keeper = LeaseKeeper(
        store, f"RUN-{number}", f"user:default/op{number}", None, lambda *_a: None, ttl=60
    )
    barrier.wait(timeout=120)
    try:
        keeper.acquire_all([ASSET])
    except LeaseRefused:
        code = REFUSED
    else:
        code = WON  # the lease stays: the parent checks who holds it
    store.close()
    raise SystemExit(code)


@pytest.mark.slow
def test_of_fifty_processes_racing_for_one_lease_exactly_one_wins(database_url: str) -> None:
    Store.open(database_url).close()  # migrate once, before the race
    barrier = CHILDREN.Barrier(PROCESSES)
    processes = [
        CHILDREN.Process(target=_contend, args=(database_url, n, barrier))
        for n in range(1, PROCESSES + 1)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)
    codes = [process.exitcode for process in processes]
    assert sorted(set(codes)) == [WON, REFUSED], codes
    assert codes.count(WON) == 1
    winner = codes.index(WON) + 1
    store = Store.open(database_url)
    try:
        lease = store.get_lease(ASSET)
        assert lease is not None and lease.run_id == f"RUN-{winner}"
    finally:
        store.close()
