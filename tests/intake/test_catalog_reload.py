"""`oncall serve` follows the catalog's files: a real server process, a real edit of a catalog
file, and new alerts placed with the new catalog without a restart (intake/reload.py)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from tests.intake.conftest import Server, serving
from tests.intake.test_alerts import alert, webhook

LATE_ASSET = """\
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: late-table
  annotations:
    oncall/alert-selector: "team=late"
spec:
  type: database
  owner: team-data
"""


def wait_for_log(server: Server, text: str, timeout: float = 60.0) -> str:
    """The server's log once it says `text` (it reloads within a couple of seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = server.log.read_text(encoding="utf-8")
        if text in log:
            return log
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in the log: {server.log.read_text()}")


def test_an_asset_added_to_the_catalog_places_the_next_alert_without_a_restart(
    workspace: Path,
) -> None:
    with serving(workspace, workspace / "serve.log") as server:
        before = server.post("/hooks/alertmanager", webhook(alert(fingerprint="l1", team="late")))
        assert before.json()["unmapped"][0]["fingerprint"] == "l1"  # no such asset yet

        (workspace / "catalog" / "late.yaml").write_text(LATE_ASSET, encoding="utf-8")
        log = wait_for_log(server, "catalog reloaded: 1 file changed")

        after = server.post("/hooks/alertmanager", webhook(alert(fingerprint="l2", team="late")))
        pid = server.process.pid
    assert after.status_code == 200 and after.json()["unmapped"] == []
    (placed,) = after.json()["alerts"]
    assert placed["outcome"] == "opened"
    assert server.process.pid == pid and "catalog not reloaded" not in log
    from incidents.store import Store
    from workspace.discovery import open_workspace

    with Store.open(open_workspace(workspace).database_url) as store:
        incident = store.get_incident(placed["incident"])
    assert incident.asset == "resource:default/late-table"


def test_a_catalog_that_no_longer_loads_is_reported_and_the_old_one_kept(
    workspace: Path,
) -> None:
    catalog = workspace / "catalog"
    with serving(workspace, workspace / "serve.log") as server:
        shutil.move(catalog, workspace / "catalog-moved")
        wait_for_log(server, "catalog not reloaded (")
        response = server.post(
            "/hooks/alertmanager", webhook(alert(fingerprint="k1", asset="training-db"))
        )
    assert response.status_code == 200 and response.json()["unmapped"] == []
    assert response.json()["alerts"][0]["outcome"] == "opened"
