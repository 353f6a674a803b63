"""Following a timeline: another process's append wakes a `Follower` (NOTIFY on PostgreSQL, the
chain head on SQLite), and the new events are then read with `events(after_seq=…)`."""

from __future__ import annotations

import subprocess
import sys
import threading

from incidents.store import Store

APPEND = """
import sys
from incidents.store import Store
with Store.open(sys.argv[1]) as store:
    store.append_event(sys.argv[2], "note", sys.argv[3], "user:default/bo.chen")
"""


def _append_in_another_process(url: str, incident_id: str, text: str) -> None:
    subprocess.run([sys.executable, "-c", APPEND, url, incident_id, text], check=True, timeout=60)


def test_an_append_by_another_process_wakes_the_follower(database_url: str) -> None:
    with Store.open(database_url) as store:
        incident = store.open_incident("load failed", "resource:default/training-db", actor="ana")
        with store.follow(incident.id, poll_seconds=0.05) as follower:
            assert follower.pushed == (store.backend == "postgresql")
            assert follower.wait(0.2) is False  # nothing happened yet
            _append_in_another_process(database_url, incident.id, "restarting the loader")
            assert follower.wait(30) is True
            new = store.events(incident.id, after_seq=incident.event_count)
    assert [(e.kind, e.message) for e in new] == [("note", "restarting the loader")]


def test_a_follower_of_one_incident_ignores_the_others(database_url: str) -> None:
    with Store.open(database_url) as store:
        watched = store.open_incident("one", "resource:default/training-db", actor="ana")
        other = store.open_incident("two", "resource:default/ops-db", actor="ana")
        with store.follow(watched.id, poll_seconds=0.05) as follower:
            _append_in_another_process(database_url, other.id, "elsewhere")
            assert follower.wait(0.5) is False
            _append_in_another_process(database_url, watched.id, "here")
            assert follower.wait(30) is True


def test_a_follower_of_everything_sees_a_new_incident(database_url: str) -> None:
    with Store.open(database_url) as store, store.follow(poll_seconds=0.05) as follower:
        woke: list[bool] = []
        waiter = threading.Thread(target=lambda: woke.append(follower.wait(30)))
        waiter.start()
        with Store.open(database_url) as second:
            second.open_incident("new", "resource:default/ops-db", actor="bo")
        waiter.join()
    assert woke == [True]


def test_the_chain_head_moves_with_every_append(database_url: str) -> None:
    with Store.open(database_url) as store:
        assert store.chain_head() == (0, 0)
        incident = store.open_incident("x", "resource:default/ops-db", actor="ana")
        store.append_event(incident.id, "note", "hello", "ana")
        assert store.chain_head(incident.id) == (1, 2)
        assert store.chain_head() == (1, 2)
