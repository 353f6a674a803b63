"""Pausing the garbage collector nests, is shared by threads, and restores what was there."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from graph.gcpause import paused_gc


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_back_on_after_nested_pauses() -> None:
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with paused_gc():
        pass
    assert not gc.isenabled()


def test_an_error_inside_still_restores_the_collector() -> None:
    with pytest.raises(ValueError), paused_gc():
        raise ValueError("boom")
    assert gc.isenabled()


def test_overlapping_pauses_in_threads_leave_the_collector_on() -> None:
    inside = threading.Barrier(2)
    leave = threading.Event()

    def pause() -> None:
        with paused_gc():
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=pause) for _ in range(2)]
    for thread in threads:
        thread.start()
    leave.set()
    for thread in threads:
        thread.join()
    assert gc.isenabled()
