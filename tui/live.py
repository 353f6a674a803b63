"""Following the store from a screen: a thread that posts a message when timelines move.

On PostgreSQL the store pushes each append (LISTEN/NOTIFY, `incidents.live`); on SQLite the
follower reads the chain head twice a second. A plain daemon thread rather than a Textual worker:
it runs as long as its screen does, and workers are for work that finishes (the tests wait for
every worker). When the store fails it waits `retry_seconds`, posts the message anyway (so the
screen's own read shows the problem, and its end), and tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from textual.message import Message


class Following:
    """Start with `start()` on mount, `stop()` on unmount."""

    def __init__(
        self,
        follow: Callable[[], Any],
        post: Callable[[Message], Any],
        make_message: Callable[[], Message],
        name: str,
        retry_seconds: float = 1.0,
    ) -> None:
        self._follow = follow
        self._post = post
        self._make_message = make_message
        self._name = name
        self._retry_seconds = retry_seconds
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name=self._name, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        stop = self._stop
        while not stop.is_set():
            try:
                with self._follow() as follower:
                    while not stop.is_set():
                        if follower.wait(0.5):
                            self._post(self._make_message())
            except Exception:  # the store failed: the screen's own read reports it
                if stop.wait(self._retry_seconds):
                    return
                self._post(self._make_message())
