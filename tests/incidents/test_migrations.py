"""The bundled Alembic migrations: applied on open, agreeing with the models, refusing a schema
from the future, upgrading one from the past."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import incidents
from incidents.database import DEFAULT_BUSY_TIMEOUT, Database, make_engine, parse_url
from incidents.errors import SchemaTooNew
from incidents.migrate import (
    MIGRATIONS_DIR,
    REVISIONS,
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from incidents.models import Base
from incidents.store import Store
from tests.incidents import workers
from tests.incidents.processes import run_together


def _database(url: str) -> Database:
    parsed = parse_url(url)
    return Database(make_engine(parsed, DEFAULT_BUSY_TIMEOUT), parsed, DEFAULT_BUSY_TIMEOUT)


def _revision(raw: Engine) -> str | None:
    with raw.connect() as conn:
        return current_revision(conn)


def test_the_migrations_ship_inside_the_package() -> None:
    package = Path(incidents.__file__).parent
    assert MIGRATIONS_DIR.parent == package
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py")) == [
        "0001_incidents_and_timeline.py",
        "0002_runs_ledger_leases.py",
        "0003_fencing_and_run_kind.py",
        "0004_lineage_run_history.py",
        "0005_alert_receipts.py",
    ]


def test_opening_a_new_database_migrates_it_to_the_newest_revision(
    store: Store, raw: Engine
) -> None:
    assert _revision(raw) == head_revision()
    tables = set(inspect(raw).get_table_names())
    assert {"incidents", "events", "runs", "step_ledger", "leases", VERSION_TABLE} <= tables


def test_the_migrations_create_exactly_what_the_models_describe(store: Store, raw: Engine) -> None:
    with raw.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_an_old_database_is_upgraded_on_open_and_keeps_its_data(
    database_url: str, raw: Engine
) -> None:
    old = _database(database_url)
    upgrade(old, "0001")
    old.engine.dispose()
    with raw.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO incidents (id, number, title, severity, status, asset, opened_at, "
                "last_seq, head_hash) VALUES ('INC-1', 1, 'from before', 'SEV3', 'open', "
                "'resource:default/x', '2026-01-01 00:00:00', 0, :genesis)"
            ),
            {"genesis": "0" * 64},
        )
        conn.execute(text("UPDATE counters SET value = 1 WHERE name = 'incident'"))
    assert _revision(raw) == "0001"
    with Store.open(database_url) as store:
        assert store.get_incident("INC-1").title == "from before"
        run = store.create_run("INC-1", "pause-etl", 1, "a" * 64, {}, "alice")
        assert run.id == "RUN-1"
        assert store.open_incident("after", "resource:default/x", actor="alice").id == "INC-2"
    assert _revision(raw) == head_revision()


def test_runs_ledger_and_leases_from_before_fencing_are_upgraded_in_place(
    database_url: str, raw: Engine
) -> None:
    old = _database(database_url)
    upgrade(old, "0002")
    old.engine.dispose()
    with raw.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incidents (id, number, title, severity, status, asset, opened_at, "
                "last_seq, head_hash) VALUES ('INC-1', 1, 'old', 'SEV3', 'open', "
                "'resource:default/x', '2026-01-01 00:00:00', 0, :genesis)"
            ),
            {"genesis": "0" * 64},
        )
        for number, runbook in ((1, "oncall:page"), (2, "pause-etl")):
            conn.execute(
                text(
                    "INSERT INTO runs (id, number, incident_id, runbook_id, version, sha256, "
                    "params, operator, dry_run, status, started_at, updated_at) VALUES "
                    "(:id, :n, 'INC-1', :rb, 1, :sha, '{}', 'alice', :f, 'running', "
                    "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"id": f"RUN-{number}", "n": number, "rb": runbook, "sha": "a" * 64, "f": False},
            )
        conn.execute(
            text(
                "INSERT INTO step_ledger (key, run_id, incident_id, step_id, status, rendered, "
                "effect_count, started_at) VALUES ('k1', 'RUN-2', 'INC-1', 's', 'started', "
                "'{}', 0, '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO leases (asset, holder, run_id, host, acquired_at, heartbeat_at, "
                "expires_at) VALUES ('resource:default/x', 'alice', 'RUN-2', 'old pid 1', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:05:00')"
            )
        )
    with Store.open(database_url) as store:
        assert [(r.id, r.kind) for r in store.list_runs()] == [
            ("RUN-1", "page"),
            ("RUN-2", "runbook"),
        ]
        entry = store.ledger_get("k1")
        assert entry is not None and (entry.session, entry.attempts) == (None, 1)
        lease = store.get_lease("resource:default/x")
        assert lease is not None and lease.session == ""
        claimed = store.ledger_claim("k1", "RUN-2", "new-session", attempts=1)
        assert (claimed.session, claimed.attempts) == ("new-session", 2)
    assert _revision(raw) == head_revision()


def test_a_database_from_a_newer_oncall_is_refused_and_left_alone(
    database_url: str, raw: Engine
) -> None:
    Store.open(database_url).close()
    with raw.connect() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0099_from_the_future'"))
    with pytest.raises(SchemaTooNew, match="written by a newer oncall"):
        Store.open(database_url)
    assert _revision(raw) == "0099_from_the_future"


@pytest.mark.slow
def test_several_processes_opening_a_new_database_at_once_all_succeed(database_url: str) -> None:
    run_together(workers.open_store, [(database_url,)] * 4)
    with Store.open(database_url) as store:
        assert store.open_incident("one", "resource:default/x", actor="alice").id == "INC-1"


def test_several_threads_opening_a_new_database_at_once_all_succeed(database_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        try:
            start.wait()
            Store.open(database_url).close()
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_migrations_downgrade_cleanly_to_nothing(database_url: str, raw: Engine) -> None:
    Store.open(database_url).close()
    db = _database(database_url)
    with db.write() as conn:
        command.downgrade(alembic_config(conn), "base")
    db.engine.dispose()
    assert set(inspect(raw).get_table_names()) <= {VERSION_TABLE}


def test_the_list_of_known_revisions_matches_the_scripts_in_order() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    in_order = [s.revision for s in reversed(list(scripts.walk_revisions()))]
    assert tuple(in_order) == REVISIONS
    assert scripts.get_current_head() == head_revision()
