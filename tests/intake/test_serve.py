"""`oncall serve` as a real process: tokens, limits, status codes, health, metrics, and several
processes on one PostgreSQL behaving as one."""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from incidents.store import Store
from tests.conftest import oncall_argv
from tests.intake.conftest import TOKEN, Server, make_workspace, serving
from tests.intake.test_alerts import alert, webhook
from workspace.discovery import open_workspace


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = make_workspace(tmp_path_factory.mktemp("serve") / "ws")
    with serving(root, root / "serve.log") as running:
        yield running


def _store(root: Path) -> Store:
    return Store.open(open_workspace(root).database_url)


def test_an_alert_opens_an_incident_and_its_repeat_records_nothing(workspace: Path) -> None:
    with serving(workspace, workspace / "serve.log") as server:
        body = webhook(alert(fingerprint="a1", asset="training-db", severity="critical"))
        first = server.post("/hooks/alertmanager", body)
        again = server.post("/hooks/alertmanager", body)
        metrics = server.get("/metrics").text
    assert first.status_code == 200 and first.json()["opened"] == ["INC-1"]
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert 'oncall_intake_alerts_total{result="deduplicated"} 1.0' in metrics
    assert 'oncall_intake_requests_total{code="200",endpoint="/hooks/alertmanager"} 2.0' in metrics
    with _store(workspace) as store:
        assert [e.kind for e in store.events("INC-1")] == ["status", "alert"]


@pytest.mark.parametrize(
    ("token", "body", "code", "reason"),
    [
        (None, webhook(alert()), 401, "bearer token"),
        ("wrong", webhook(alert()), 401, "bearer token"),
        (TOKEN, b'{"version": "4", "alerts": [', 400, "malformed JSON"),
        (TOKEN, json.dumps({"version": "5", "alerts": []}), 400, "unknown payload version '5'"),
        (TOKEN, b"\xff\xfe", 400, "not UTF-8"),
        (TOKEN, b"[" + b" " * (1024 * 1024) + b"]", 413, "larger than 1048576 bytes"),
    ],
)
def test_bad_requests_get_their_code_and_one_line_and_store_nothing(
    server: Server, token: str | None, body: bytes | str, code: int, reason: str
) -> None:
    response = server.post("/hooks/alertmanager", body, token=token)
    assert response.status_code == code
    error = response.json()["error"]
    assert reason in error and "\n" not in error
    with _store(Path(server.log).parent) as store:
        assert store.alert_receipts() == []
        assert store.list_incidents(include_closed=True) == []


def test_an_unknown_asset_is_kept_and_reported(server: Server) -> None:
    response = server.post("/hooks/alertmanager", webhook(alert("Mystery", fingerprint="u1")))
    assert response.status_code == 200
    (unmapped,) = response.json()["unmapped"]
    assert unmapped["alertname"] == "Mystery" and unmapped["incident"]
    with _store(Path(server.log).parent) as store:
        incident = store.get_incident(unmapped["incident"])
        assert incident.asset == "(no asset)"
        store_receipts = store.alert_receipts("u1")
    assert len(store_receipts) == 1


def test_healthz_and_metrics_answer_without_a_token(server: Server) -> None:
    health = server.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "store": "reachable"}
    metrics = server.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "oncall_intake_request_seconds_bucket" in metrics.text


def test_serve_refuses_a_public_address_without_a_token(workspace: Path) -> None:
    result = subprocess.run(
        oncall_argv("--workspace", str(workspace), "serve", "--host", "0.0.0.0", "--port", "1"),
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in __import__("os").environ.items() if k != "ONCALL_INTAKE_TOKEN"},
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_token_file_in_oncall_toml_is_used(workspace: Path) -> None:
    (workspace / "intake.token").write_text("from-the-file\n", encoding="utf-8")
    config = workspace / "oncall.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + '\n[intake]\ntoken_file = "intake.token"\n',
        encoding="utf-8",
    )
    with serving(workspace, workspace / "serve.log", token=None) as server:
        refused = server.post("/hooks/alertmanager", webhook(alert()), token=TOKEN)
        accepted = server.post(
            "/hooks/alertmanager", webhook(alert(asset="training-db")), token="from-the-file"
        )
    assert (refused.status_code, accepted.status_code) == (401, 200)


@pytest.mark.postgres
def test_a_store_that_cannot_be_reached_gets_503_and_nothing_is_written(tmp_path: Path) -> None:
    admin = make_url(__import__("tests.conftest", fromlist=["x"]).postgres_admin_url())
    name = f"oncall_t_down_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.set(database=name).render_as_string(hide_password=False)
    root = make_workspace(tmp_path / "ws", database_url=url)
    try:
        with serving(root, root / "serve.log") as server:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            response = server.post("/hooks/alertmanager", webhook(alert(asset="training-db")))
            health = server.get("/healthz")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            assert "store unavailable" in response.json()["error"]
            assert health.status_code == 503
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def test_a_locked_sqlite_store_gets_503_and_the_retry_is_recorded(workspace: Path) -> None:
    """SQLite's stand-in for "down": another process holds the write lock past the timeout."""
    db = open_workspace(workspace).database_url
    with serving(workspace, workspace / "serve.log") as server:
        path = make_url(db).database
        import sqlite3

        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            locked = server.post("/hooks/alertmanager", webhook(alert(asset="training-db")))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        retried = server.post("/hooks/alertmanager", webhook(alert(asset="training-db")))
    assert locked.status_code == 503 and "locked" in locked.json()["error"]
    assert retried.status_code == 200 and retried.json()["opened"] == ["INC-1"]


@pytest.mark.postgres
@pytest.mark.slow
def test_two_servers_on_one_postgresql_receiving_the_same_alerts_open_one_incident(
    tmp_path: Path, postgres_url: str
) -> None:
    root = make_workspace(tmp_path / "ws", database_url=postgres_url)
    with (
        serving(root, tmp_path / "one.log") as one,
        serving(root, tmp_path / "two.log") as two,
    ):
        rounds = 10
        responses: list[int] = []
        lock = threading.Lock()

        def send(server: Server, body: bytes, gate: threading.Barrier) -> None:
            gate.wait()
            code = server.post("/hooks/alertmanager", body).status_code
            with lock:
                responses.append(code)

        for i in range(rounds):
            # the same alert to both, and a different alert on the same asset to each
            same = webhook(alert(fingerprint=f"same-{i}", asset="training-db"))
            gate = threading.Barrier(4)
            threads = [
                threading.Thread(target=send, args=(one, same, gate)),
                threading.Thread(target=send, args=(two, same, gate)),
                threading.Thread(
                    target=send,
                    args=(one, webhook(alert(fingerprint=f"x-{i}", asset="training-db")), gate),
                ),
                threading.Thread(
                    target=send,
                    args=(two, webhook(alert(fingerprint=f"y-{i}", asset="training-db")), gate),
                ),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    assert responses == [200] * (4 * rounds)
    with Store.open(postgres_url) as store:
        (incident,) = store.list_incidents(include_closed=True)
        events = store.events(incident.id)
        assert store.verify(incident.id).ok
        receipts = store.alert_receipts()
    assert len([e for e in events if e.kind == "alert"]) == 3 * rounds
    assert sorted(r["fingerprint"] for r in receipts) == sorted(
        [f"same-{i}" for i in range(rounds)]
        + [f"x-{i}" for i in range(rounds)]
        + [f"y-{i}" for i in range(rounds)]
    )
