"""Fixtures for the store's tests: an open store on each backend, raw SQL access for tampering,
and a clock that tests move by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from incidents.database import parse_url
from incidents.store import Store
from tests.incidents.helpers import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(database_url: str, clock: ManualClock) -> Iterator[Store]:
    """A freshly migrated store on SQLite and on PostgreSQL, on a hand-moved clock."""
    opened = Store.open(database_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def raw(database_url: str) -> Iterator[Engine]:
    """A plain engine on the same database, for what the store must never do (tampering)."""
    engine = create_engine(parse_url(database_url), isolation_level="AUTOCOMMIT")
    try:
        yield engine
    finally:
        engine.dispose()
