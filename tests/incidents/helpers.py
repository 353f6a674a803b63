"""Helpers shared by the store's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Stands in for `utc_now`: time moves only when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 27, 3, 0, 0, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now
