"""The rules of an incident's life, as pure functions: ids, severities, statuses, event kinds.

Status only moves forward: open → acknowledged → mitigated → resolved. Skipping ahead is allowed
(a false alarm goes straight from open to resolved; a fix that lands before anyone acks goes to
mitigated) and the skipped stages are stamped with the same moment, because mitigating implies
having acknowledged: TTA/TTM metrics then stay defined instead of silently missing. Moving
backwards or to the current status is refused; a reopened problem is a new incident.
"""

from __future__ import annotations

import re

from incidents.errors import IllegalTransition, InvalidValue

SEVERITIES: tuple[str, ...] = ("SEV1", "SEV2", "SEV3", "SEV4")
STATUSES: tuple[str, ...] = ("open", "acknowledged", "mitigated", "resolved")
CLOSED_STATUSES: frozenset[str] = frozenset({"resolved"})
EVENT_KINDS: frozenset[str] = frozenset(
    {
        "alert",
        "note",
        "status",
        "page",
        "step_started",
        "step_done",
        "step_failed",
        "step_skipped",
        "lease",
        "decision",
        "override",
    }
)
STATUS_TIME_FIELD: dict[str, str] = {
    "open": "opened_at",
    "acknowledged": "acknowledged_at",
    "mitigated": "mitigated_at",
    "resolved": "resolved_at",
}

INCIDENT_PREFIX = "INC-"
RUN_PREFIX = "RUN-"
_ID_PATTERN = re.compile(r"^\s*(?:(?P<prefix>[a-z]+)-?)?(?P<number>\d+)\s*$", re.IGNORECASE)


def _normalise_id(text: str, prefix: str, what: str) -> str:
    match = _ID_PATTERN.match(text or "")
    if not match or (match["prefix"] and match["prefix"].upper() + "-" != prefix):
        raise InvalidValue(f"{text!r} is not {what} id (expected {prefix}<number>, e.g. {prefix}7)")
    return f"{prefix}{int(match['number'])}"


def normalise_incident_id(text: str) -> str:
    """`INC-7` from `INC-7`, `inc-7`, `inc7` or `7`: what a tired operator types."""
    return _normalise_id(text, INCIDENT_PREFIX, "an incident")


def normalise_run_id(text: str) -> str:
    return _normalise_id(text, RUN_PREFIX, "a run")


def normalise_severity(text: str) -> str:
    """`SEV2` from `SEV2`, `sev2` or `2`."""
    candidate = (text or "").strip().upper()
    if candidate.isdigit():
        candidate = f"SEV{candidate}"
    if candidate not in SEVERITIES:
        raise InvalidValue(f"unknown severity {text!r}: use one of {', '.join(SEVERITIES)}")
    return candidate


def normalise_status(text: str) -> str:
    candidate = (text or "").strip().lower()
    if candidate not in STATUSES:
        raise InvalidValue(f"unknown status {text!r}: use one of {', '.join(STATUSES)}")
    return candidate


def check_kind(kind: str) -> str:
    if kind not in EVENT_KINDS:
        raise InvalidValue(
            f"unknown event kind {kind!r}: use one of {', '.join(sorted(EVENT_KINDS))}"
        )
    return kind


def require_text(value: str | None, what: str) -> str:
    """The value stripped; an empty or missing one is refused (a blank title or note says nothing)."""
    stripped = value.strip() if isinstance(value, str) else ""
    if not stripped:
        raise InvalidValue(f"{what} must not be empty")
    return stripped


def stages_reached(incident_id: str, current: str, target: str) -> list[str]:
    """The statuses passed through going from `current` to `target`, `target` last.

    Raises IllegalTransition for a move backwards or to the same status.
    """
    target = normalise_status(target)
    here, there = STATUSES.index(current), STATUSES.index(target)
    if there <= here:
        raise IllegalTransition(incident_id, current, target)
    return list(STATUSES[here + 1 : there + 1])
