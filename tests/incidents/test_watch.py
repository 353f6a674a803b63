"""`oncall incident watch INC`: a real subprocess follows the timeline while another process
appends to it (on SQLite by the chain head, on PostgreSQL by LISTEN/NOTIFY)."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from incidents.store import Store
from tests.conftest import oncall_argv
from tests.incidents.test_live import _append_in_another_process
from tests.intake.conftest import make_workspace
from workspace.discovery import open_workspace


def _lines(stream: object) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@pytest.mark.slow
def test_watch_prints_the_timeline_then_each_new_event_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, database_url: str
) -> None:
    root = make_workspace(tmp_path / "ws", database_url=database_url)
    url = open_workspace(root).database_url
    with Store.open(url) as store:
        incident = store.open_incident("load failed", "resource:default/training-db", actor="ana")
    process = subprocess.Popen(
        oncall_argv("--workspace", str(root), "incident", "watch", incident.id, "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _lines(process.stdout)
        first = json.loads(lines.get(timeout=60))
        assert first["kind"] == "status"
        _append_in_another_process(url, incident.id, "restarting the loader")
        second = json.loads(lines.get(timeout=60))
        assert (second["kind"], second["message"]) == ("note", "restarting the loader")
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    assert code == 0
    assert "Traceback" not in process.stderr.read()  # type: ignore[union-attr]
