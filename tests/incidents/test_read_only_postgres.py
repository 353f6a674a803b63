"""A PostgreSQL store this connection cannot write (issue 17): read like a read-only SQLite file.

Real server, two real ways to be read-only: a database whose transactions are read-only by
default (what a standby looks like to a client) and a role granted only SELECT. Reads work,
every write is refused with one line before it reaches the server, and nothing changes."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from incidents.errors import ReadOnlyStore
from incidents.store import Store
from tests.conftest import oncall_argv
from tests.incidents.test_cli import make_workspace


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        oncall_argv("-w", str(root), *args),
        capture_output=True,
        text=True,
        env={"ONCALL_USER": "alice", "PATH": "/usr/bin:/bin", "HOME": str(root)},
        check=False,
        timeout=120,
    )


def _events(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())
    finally:
        engine.dispose()


def _admin(url: str, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_a_database_with_read_only_transactions_reads_and_refuses_every_write(
    tmp_path: Path, postgres_url: str
) -> None:
    root = make_workspace(tmp_path / "ws", postgres_url)
    assert _run(root, "incident", "open", "Partial loads", "--asset", "training-db").returncode == 0
    name = make_url(postgres_url).database
    _admin(postgres_url, f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')

    store = Store.open(postgres_url)
    try:
        assert store.read_only
        assert store.get_incident("INC-1").title == "Partial loads"
        with pytest.raises(ReadOnlyStore, match="read-only by default"):
            store.append_event("INC-1", "note", "x", actor="alice")
    finally:
        store.close()

    shown = _run(root, "incident", "show", "INC-1")
    assert shown.returncode == 0, shown.stderr
    note = _run(root, "incident", "note", "INC-1", "hello")
    assert note.returncode == 2
    assert note.stderr.startswith("oncall: read-only: nothing was changed (the store ")
    assert len(note.stderr.strip().splitlines()) == 1
    _admin(
        postgres_url,
        "SET default_transaction_read_only = off",
        f'ALTER DATABASE "{name}" SET default_transaction_read_only = off',
    )
    assert _events(postgres_url) == 1


def test_a_role_granted_only_select_reads_and_refuses_every_write(
    tmp_path: Path, postgres_url: str
) -> None:
    root = make_workspace(tmp_path / "ws", postgres_url)
    assert _run(root, "incident", "open", "Partial loads", "--asset", "training-db").returncode == 0
    role = f"reader_{uuid.uuid4().hex[:8]}"
    _admin(
        postgres_url,
        f"CREATE ROLE {role} LOGIN",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
    )
    try:
        reader_url = make_url(postgres_url).set(username=role).render_as_string(False)
        reader = make_workspace(tmp_path / "reader", reader_url)
        shown = _run(reader, "incident", "show", "INC-1", "--json")
        assert shown.returncode == 0, shown.stderr
        note = _run(reader, "incident", "note", "INC-1", "hello")
        assert note.returncode == 2
        assert note.stderr == (
            "oncall: read-only: nothing was changed (the store "
            f"{make_url(reader_url).render_as_string(hide_password=True)}: user {role} may not "
            "write its tables)\n"
        )
        assert _events(postgres_url) == 1
    finally:
        _admin(
            postgres_url,
            f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
            f"DROP OWNED BY {role}",
            f"DROP ROLE {role}",
        )
