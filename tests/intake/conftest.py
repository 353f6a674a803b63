"""Fixtures for the intake: a demo workspace with alert rules, and real `oncall serve` processes.

`serving(...)` starts the real command line (`python -m tui.cli serve`) on a free loopback port
and waits for `/healthz`; the tests talk to it over HTTP like Alertmanager does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import oncall_argv

TOKEN = "intake-test-token"
EXTRA_CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ingest-api
  title: Ingest API
  annotations:
    oncall/alert-selector: "service=ingest"
spec:
  type: service
  owner: team-data
  system: data-ingest
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ingest-api-eu
  title: Ingest API (EU)
  annotations:
    oncall/alert-selector: "service=ingest, region=eu"
spec:
  type: service
  owner: team-data
  system: data-ingest
"""
ALERT_RULES = """
[alerts.job]
nightly-etl = "component:default/nightly-etl"

[alerts.dataset]
features = "feature-store"
"""


def make_workspace(root: Path, database_url: str | None = None) -> Path:
    """The demo workspace plus two annotated assets and `[alerts]` rules (and a database URL)."""
    from demo import init_workspace

    init_workspace(root)
    (root / "catalog" / "intake.yaml").write_text(EXTRA_CATALOG, encoding="utf-8")
    config = root / "oncall.toml"
    text = config.read_text(encoding="utf-8")
    head, sep, tables = text.partition("\n[")
    if database_url:
        head += f'\ndatabase_url = "{database_url}"\n'
    config.write_text(head + ALERT_RULES + sep + tables, encoding="utf-8")
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def post(self, path: str, body: bytes | str, token: str | None = TOKEN) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        content = body.encode() if isinstance(body, str) else body
        return httpx.post(self.url + path, content=content, headers=headers, timeout=30)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30)


def start_server(
    workspace: Path, log: Path, *, token: str | None = TOKEN, port: int | None = None
) -> Server:
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if k != "ONCALL_INTAKE_TOKEN"}
    if token is not None:
        env["ONCALL_INTAKE_TOKEN"] = token
    with log.open("wb") as out:
        process = subprocess.Popen(
            oncall_argv("--workspace", str(workspace), "serve", "--port", str(port)),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"oncall serve exited {process.returncode}: {log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if server.get("/healthz").status_code == 200:
                return server
        time.sleep(0.1)
    stop_server(server)
    raise AssertionError(f"oncall serve did not become healthy: {log.read_text()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextlib.contextmanager
def serving(workspace: Path, log: Path, **kwargs: object) -> Iterator[Server]:
    server = start_server(workspace, log, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        stop_server(server)
