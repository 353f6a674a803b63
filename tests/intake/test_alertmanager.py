"""A real Prometheus Alertmanager delivering to a real `oncall serve`.

Alerts are posted to Alertmanager's own API (`/api/v2/alerts`); Alertmanager groups them and
calls our webhook with its short test timings (group_wait/group_interval 1s, repeat_interval 2s),
so the same group is re-sent while it is firing (our dedupe must hold) and a resolved alert is
sent once it ends. The binary is `$ONCALL_TEST_ALERTMANAGER` (`.ci/run` exports it), else the
Debian package's `/usr/bin/prometheus-alertmanager`; locally the test skips without one, under
CI it fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from incidents.store import Store
from tests.intake.conftest import TOKEN, Server, free_port, serving
from workspace.discovery import open_workspace

ENV_BINARY = "ONCALL_TEST_ALERTMANAGER"
DEBIAN_BINARY = "/usr/bin/prometheus-alertmanager"
WAIT_SECONDS = 60.0

CONFIG = """\
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: oncall
    webhook_configs:
      - url: {url}/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
"""


def alertmanager_binary() -> str:
    found = (
        os.environ.get(ENV_BINARY)
        or shutil.which("prometheus-alertmanager")
        or (DEBIAN_BINARY if Path(DEBIAN_BINARY).exists() else None)
    )
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"no Alertmanager under CI: set {ENV_BINARY} (.ci/run installs it)")
        pytest.skip(f"no Alertmanager binary ({ENV_BINARY} unset, {DEBIAN_BINARY} missing)")
    return found


@contextlib.contextmanager
def alertmanager(tmp: Path, intake: Server) -> Iterator[str]:
    binary = alertmanager_binary()
    port = free_port()
    config = tmp / "alertmanager.yml"
    config.write_text(CONFIG.format(url=intake.url, token=TOKEN), encoding="utf-8")
    (tmp / "am-data").mkdir()
    log = (tmp / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: _ready(url),
            what=f"Alertmanager to be ready (log: {tmp / 'alertmanager.log'})",
            alive=process,
        )
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _ready(url: str) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    return False


def wait_for(
    condition: Callable[[], Any], *, what: str, alive: subprocess.Popen[bytes] | None = None
) -> Any:
    """Poll until `condition()` is truthy; fail naming `what` after WAIT_SECONDS (a hang guard,
    not a timing assertion: every condition here happens within a few seconds)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            pytest.fail(f"exited with {alive.returncode} while waiting for {what}")
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


def post_alerts(am: str, alerts: list[dict[str, Any]]) -> None:
    response = httpx.post(f"{am}/api/v2/alerts", json=alerts, timeout=10)
    assert response.status_code == 200, response.text


def _metric(server: Server, result: str) -> float:
    for line in server.get("/metrics").text.splitlines():
        if line.startswith(f'oncall_intake_alerts_total{{result="{result}"}}'):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.slow
def test_alertmanager_groups_alerts_into_one_incident_dedupes_repeats_and_records_resolution(
    workspace: Path, tmp_path: Path
) -> None:
    starts = datetime.now(UTC) - timedelta(minutes=1)
    firing = [
        {
            "labels": {
                "alertname": "TrainingLoadPartial",
                "asset": "training-db",
                "severity": "critical",
                "instance": instance,
            },
            "annotations": {"summary": "training-db has partial loads"},
            "startsAt": starts.isoformat(),
            "generatorURL": "http://prometheus.example/graph",
        }
        for instance in ("loader-1", "loader-2")
    ]
    with serving(workspace, tmp_path / "serve.log") as server, alertmanager(tmp_path, server) as am:
        post_alerts(am, firing)
        wait_for(lambda: _metric(server, "recorded") >= 2, what="the group to be recorded")
        # Alertmanager re-sends the firing group every repeat_interval: those are repeats
        wait_for(lambda: _metric(server, "deduplicated") >= 2, what="a repeated notification")
        ended = datetime.now(UTC)
        post_alerts(am, [{**firing[0], "endsAt": ended.isoformat()}])
        wait_for(lambda: _metric(server, "recorded") >= 3, what="the resolved alert")
        opened = _metric(server, "opened")

    with Store.open(open_workspace(workspace).database_url) as store:
        (incident,) = store.list_incidents(include_closed=True)
        events = store.events(incident.id)
        receipts = store.alert_receipts()
    assert opened == 1
    assert (incident.asset, incident.severity, incident.status) == (
        "resource:default/training-db",
        "SEV1",
        "open",
    )
    assert incident.title == "training-db has partial loads"
    alerts = [e for e in events if e.kind == "alert"]
    assert sorted((e.data["status"], e.data["labels"]["instance"]) for e in alerts) == [
        ("firing", "loader-1"),
        ("firing", "loader-2"),
        ("resolved", "loader-1"),
    ]
    assert all(e.data["receiver"] == "oncall" for e in alerts)
    assert len(receipts) == 3
    assert store_verified(workspace, incident.id)


def store_verified(workspace: Path, incident_id: str) -> bool:
    with Store.open(open_workspace(workspace).database_url) as store:
        return store.verify(incident_id).ok
