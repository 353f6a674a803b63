"""Opening the store, and every way a database can be unusable: one clear StoreError each, and
nothing half-written."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

import incidents.store
from incidents.errors import StoreBusy, StoreUnavailable
from incidents.store import Store

ASSET = "resource:default/training-db"


@contextmanager
def _write_lock(path: Path) -> Iterator[None]:
    """Another process's writer holding the SQLite write lock (the `sqlite3` shell, say)."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_sqlite_store_is_created_with_its_directories_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "workspace" / ".oncall" / "state.db"
    with Store.open(f"sqlite:///{path}") as store, store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    assert path.is_file()


def test_a_plain_postgresql_url_uses_the_bundled_psycopg_driver(postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with Store.open(plain) as store:
        assert store.backend == "postgresql"
        assert store.open_incident("t", ASSET, actor="alice").id == "INC-1"


def test_an_unreachable_postgresql_is_one_clear_error_without_the_password() -> None:
    with pytest.raises(StoreUnavailable, match="cannot reach the database") as caught:
        Store.open("postgresql+psycopg://oncall:s3cret@127.0.0.1:1/oncall")
    assert "s3cret" not in str(caught.value)
    assert "127.0.0.1:1/oncall" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("mysql://root@localhost/oncall", "SQLite or PostgreSQL, not mysql"),
        ("postgresql+asyncpg://x@localhost/oncall", "use postgresql\\+psycopg://"),
    ],
)
def test_an_unsupported_url_is_refused(url: str, message: str) -> None:
    with pytest.raises(StoreUnavailable, match=message):
        Store.open(url)


def test_a_locked_sqlite_store_is_one_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    url = f"sqlite:///{path}"
    with Store.open(url) as setup:
        incident = setup.open_incident("Partial loads", ASSET, actor="alice")
    with Store.open(url, busy_timeout=0.1) as store:
        with _write_lock(path):
            with pytest.raises(StoreUnavailable, match="is locked by another process"):
                store.append_event(incident.id, "note", "hello", "bob")
            with pytest.raises(StoreUnavailable, match="is locked"):
                store.set_status(incident.id, "acknowledged", actor="bob")
            with pytest.raises(StoreUnavailable, match="is locked"):
                store.open_incident("another", ASSET, actor="bob")
            # Readers are not blocked by a writer under WAL.
            assert len(store.events(incident.id)) == 1
        assert [i.id for i in store.list_incidents()] == ["INC-1"]
        assert store.get_incident(incident.id).status == "open"
        assert store.verify(incident.id).ok
        assert store.append_event(incident.id, "note", "hello", "bob").seq == 2


def test_a_store_that_needs_migrating_while_locked_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    sqlite3.connect(path).close()  # an empty database another process is about to write
    with _write_lock(path), pytest.raises(StoreUnavailable, match="is locked"):
        Store.open(f"sqlite:///{path}", busy_timeout=0.1)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_a_read_only_sqlite_store_is_one_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(f"sqlite:///{path}") as setup:
        incident = setup.open_incident("Partial loads", ASSET, actor="alice")
    with Store.open(f"sqlite:///file:{path}?mode=ro&uri=true") as store:
        assert store.get_incident(incident.id).title == "Partial loads"
        with pytest.raises(StoreUnavailable, match="read-only: nothing was changed"):
            store.append_event(incident.id, "note", "hello", "bob")
    with Store.open(f"sqlite:///{path}") as store:
        assert len(store.events(incident.id)) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through directory permissions")
def test_a_read_only_workspace_is_one_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    workspace.chmod(0o555)
    try:
        with pytest.raises(StoreUnavailable, match="cannot create the store's directory"):
            Store.open(f"sqlite:///{workspace / '.oncall' / 'state.db'}")
        assert list(workspace.iterdir()) == []
    finally:
        workspace.chmod(0o755)


def test_a_store_path_under_a_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "workspace").write_text("not a directory")
    with pytest.raises(StoreUnavailable, match="cannot create the store's directory"):
        Store.open(f"sqlite:///{tmp_path / 'workspace' / '.oncall' / 'state.db'}")


def test_a_store_path_that_is_a_directory_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="it is a directory"):
        Store.open(f"sqlite:///{tmp_path}")


def test_a_first_open_that_fails_leaves_no_file_or_directory_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_upgrade(_db: object) -> None:
        raise StoreUnavailable("the disk is full")

    monkeypatch.setattr(incidents.store, "upgrade", failing_upgrade)
    with pytest.raises(StoreUnavailable, match="the disk is full"):
        Store.open(f"sqlite:///{tmp_path / 'ws' / '.oncall' / 'state.db'}")
    assert list(tmp_path.iterdir()) == []


def test_only_the_process_that_made_a_new_store_file_may_remove_it(tmp_path: Path) -> None:
    from incidents.store import _prepare_sqlite_path

    path = tmp_path / "new" / "state.db"
    first = _prepare_sqlite_path(path, str(path))
    second = _prepare_sqlite_path(path, str(path))
    assert path in first and path.exists()
    assert path not in second  # it already existed: someone else's, never cleaned up by us


@pytest.mark.parametrize(
    ("error", "kept"),
    [(StoreBusy("the store is locked by another process"), True), (StoreUnavailable("x"), False)],
)
def test_a_failed_first_open_removes_its_file_unless_another_process_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: StoreUnavailable, kept: bool
) -> None:
    import incidents.store as store_module

    def fail(db: object) -> None:
        raise error

    monkeypatch.setattr(store_module, "upgrade", fail)
    path = tmp_path / "state.db"
    with pytest.raises(StoreUnavailable):
        Store.open(f"sqlite:///{path}")
    assert path.exists() is kept


def test_a_new_store_file_is_in_wal_mode_before_anyone_opens_it(tmp_path: Path) -> None:
    """Made aside in WAL mode and linked in place: processes opening a new store at once never
    switch journal modes together (two such switches can wait on each other's lock)."""
    from incidents.store import _prepare_sqlite_path

    path = tmp_path / "state.db"
    _prepare_sqlite_path(path, str(path))
    header = path.read_bytes()[:20]
    assert header.startswith(b"SQLite format 3\x00") and header[18:20] == b"\x02\x02"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]
