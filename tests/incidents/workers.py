"""Code run in child processes by the concurrency tests (spawned, so it must be importable)."""

from __future__ import annotations

from multiprocessing.synchronize import Event as StartSignal

from incidents.store import Store


def open_store(url: str, start: StartSignal) -> None:
    """Open (and so migrate) the store as soon as every process is ready."""
    start.wait()
    Store.open(url, busy_timeout=60).close()


def append_notes(url: str, incident_id: str, actor: str, count: int, start: StartSignal) -> None:
    """Append `count` notes numbered 0… as `actor`, starting with the others."""
    store = Store.open(url, busy_timeout=60)
    try:
        start.wait()
        for n in range(count):
            store.append_event(incident_id, "note", f"{actor} note {n}", actor, {"n": n})
    finally:
        store.close()


def open_incidents(url: str, actor: str, count: int, start: StartSignal) -> None:
    store = Store.open(url, busy_timeout=60)
    try:
        start.wait()
        for n in range(count):
            store.open_incident(f"{actor} {n}", "resource:default/x", actor=actor)
    finally:
        store.close()
