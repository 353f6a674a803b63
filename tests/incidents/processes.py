"""Running a worker function in many real processes at once."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

SPAWN = multiprocessing.get_context("spawn")  # no inherited connections or locks from pytest


def run_together(target: Callable[..., None], arguments: Sequence[tuple[Any, ...]]) -> None:
    """Start one process per argument tuple (each gets a shared start signal appended), release
    them together, and fail if any exits non-zero."""
    start = SPAWN.Event()
    processes = [SPAWN.Process(target=target, args=(*args, start)) for args in arguments]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(timeout=300)
    codes = [process.exitcode for process in processes]
    for process in processes:
        if process.is_alive():
            process.kill()
    assert codes == [0] * len(processes), f"worker exit codes: {codes}"
