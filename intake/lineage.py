"""`POST /api/v1/lineage`: OpenLineage events as Marquez receives them, stored as run history.

OpenLineage clients' HTTP transport posts one event per request (a RunEvent, or in OpenLineage 2
a DatasetEvent or JobEvent) to `<url>/api/v1/lineage`. Each is handed to the store's run history
(`Store.record_lineage_events`, which checks it, and is idempotent: a producer's retry stores
nothing new); the graph the app and the CLI load then includes it. A body that is not one JSON
object, or an event the run history finds malformed, is a 400 and stores nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from intake.alerts import parse_json
from intake.errors import BadPayload

if TYPE_CHECKING:
    from incidents.store import Store

SOURCE = "intake"
"""Where the run history says these events came from (files say their path)."""


def event_kind(event: dict[str, Any]) -> str:
    """RunEvent, DatasetEvent or JobEvent, by the fields the OpenLineage spec requires of each."""
    if "run" in event:
        return "RunEvent"
    if "dataset" in event:
        return "DatasetEvent"
    if "job" in event:
        return "JobEvent"
    raise BadPayload("not an OpenLineage event: it has no run, job or dataset")


class LineageIntake:
    def __init__(self, store: Store) -> None:
        self.store = store

    def ingest(self, body: bytes) -> dict[str, Any]:
        event = parse_json(body)
        if not isinstance(event, dict):
            raise BadPayload("an OpenLineage event must be a JSON object (one event per request)")
        kind = event_kind(event)
        stored = self.store.record_lineage_events([event], source=SOURCE)
        return {"received": 1, "stored": stored, "kind": kind}
