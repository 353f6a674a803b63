"""The idempotency key of a step execution.

A hash of (incident, runbook id, version, step id, rendered action): the same step of the same
runbook version, doing the same thing for the same incident, always has the same key, so the
ledger's unique constraint turns a repeated execution into "already done". A different value of
any parameter renders a different action and so gets a different key: it is a different effect.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def step_key(
    incident_id: str | None,
    runbook_id: str,
    version: int,
    step_id: str,
    payload: Mapping[str, Any],
) -> str:
    material = json.dumps(
        [incident_id, runbook_id, version, step_id, payload],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
