"""Paging people about an incident, through the same machinery as a runbook step.

A page changes the world (someone's phone rings), so it goes where every effect goes: the
`notify` action sends it (the workspace's webhook, with the step key as `Idempotency-Key`, or
the message is handed back to be shown), the ledger makes it happen once, and the timeline
records it as a `page` event. Each page is a run of kind `page` (`runs.kind`; its runbook id is
the built-in `oncall:page`), because the ledger keys every effect to a run; those runs are
finished as soon as the page is, and are never offered for resuming. The effect goes through
`execute_once`, like every runbook step: intent (or a claim of a page that died mid-way) with a
fresh session token, the effect, done — conditional on that token.

Repeats: pressing "page" twice, or two operators paging the same people at the same moment,
must not ring twice. The key is hash(incident, the people, the minute): the ledger's unique key
turns a second page within that minute into "already paged at …", and a page delivered less than
`REPEAT_WINDOW` ago in the minute before counts too, so the window slides rather than resetting
on the minute. A deliberate page again a minute later (nobody answered) goes out.

A page takes no lease: it changes no catalog asset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from incidents.errors import LedgerConflict
from incidents.ledger import LedgerEntry
from incidents.records import Incident
from incidents.runs import Run
from incidents.store import Store
from runbooks.actions import ActionFailed, ActionRuntime, RenderedAction
from runbooks.actions.notify import NotifyAction
from runbooks.errors import Fenced, RunbookError
from runbooks.execute_once import ExecuteOnce, NoLeases
from runbooks.keys import step_key
from runbooks.leasing import new_session
from runbooks.permissions import operator_ref

if TYPE_CHECKING:
    from graph.model import Catalog
    from graph.queries import PageTarget

#: The built-in runbook a page runs as (its run's `kind` is `page`).
PAGE_RUNBOOK_ID = "oncall:page"
PAGE_KIND = "page"
PAGE_VERSION = 1
PAGE_STEP = "notify"
PAGE_SHA256 = hashlib.sha256(f"{PAGE_RUNBOOK_ID} v{PAGE_VERSION}".encode()).hexdigest()

#: A page to the same people for the same incident within this long is not sent again.
REPEAT_WINDOW = timedelta(minutes=1)
#: How long the webhook may take before the page counts as failed.
PAGE_TIMEOUT_SECONDS = 30.0
#: A page found started (not done) for longer than this died mid-way: it may be sent again.
STALE_AFTER = timedelta(seconds=2 * PAGE_TIMEOUT_SECONDS)

PageStatus = Literal["sent", "already_paged"]


class Pageable(Protocol):
    """Someone to page: `graph.queries.PageTarget` has this shape (and `reasons`)."""

    @property
    def ref(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def email(self) -> str | None: ...


class PageError(RunbookError):
    """A page could not be sent: nobody to page, a closed incident, or the webhook failed."""


class NobodyToPage(PageError):
    """The catalog names no owner or rotation for the incident's assets."""


class PageFailed(PageError):
    """The webhook did not take the page; it is on the timeline, and paging again retries it."""


@dataclass(frozen=True)
class PageResult:
    """What happened: sent now (`delivered` by webhook or printed), or already paged earlier
    (`at`, `run_id`, `by` and `delivered` then describe that earlier page)."""

    incident_id: str
    status: PageStatus
    to: tuple[str, ...]
    names: tuple[str, ...]
    message: str
    delivered: str | None
    at: datetime
    run_id: str
    by: str
    key: str
    people: tuple[dict[str, Any], ...] = field(default=())

    @property
    def sent(self) -> bool:
        return self.status == "sent"

    def repeat_explained(self) -> str:
        """Why nothing was sent this time, in words (for an `already_paged` result)."""
        names = ", ".join(self.names)
        when = f"{self.at:%H:%M:%S} UTC"
        by = self.by.rpartition("/")[2]
        if self.delivered is None:
            return (
                f"A page to {names} started at {when} ({self.run_id}, by {by}) and is not "
                f"confirmed yet; not sent again. Page again in {_words(REPEAT_WINDOW)} if "
                "nobody answers."
            )
        return (
            f"Already paged {names} at {when} ({self.run_id}, by {by}); not sent again "
            f"within {_words(REPEAT_WINDOW)}."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "status": self.status,
            "to": list(self.people),
            "message": self.message,
            "delivered": self.delivered,
            "at": self.at.isoformat(),
            "run": self.run_id,
            "by": self.by,
            "key": self.key,
        }


def people_to_page(catalog: Catalog, asset_ref: str, at: datetime) -> list[PageTarget]:
    """Who to page for an incident on `asset_ref`: for the asset and everything it feeds, whoever
    is on call for (or owns) each piece, each person once (`graph.impact`)."""
    from graph.impact import impact

    return impact(catalog, asset_ref, at).page


def page_people(
    store: Store,
    incident_id: str,
    targets: Sequence[Pageable],
    operator: str,
    *,
    notify_webhook: str | None,
    workdir: Path,
    now: datetime | None = None,
    catalog: Catalog | None = None,
) -> PageResult:
    """Page `targets` about the incident once: intent in the ledger, the `notify` effect, done,
    and a `page` event on the timeline. A page to the same people within `REPEAT_WINDOW` is not
    sent again: the result says when, and by whom, they were paged.

    `operator` is recorded as the catalog user it names when `catalog` knows them (as runs do).
    Raises `NobodyToPage` for no targets and `PageFailed` when the webhook fails (recorded).
    """
    people = _distinct(targets)
    if not people:
        raise NobodyToPage(
            "nobody to page: the catalog names no owner or rotation for these assets"
        )
    incident = store.get_incident(incident_id)
    if incident.is_closed:
        raise PageError(f"{incident.id} is {incident.status}; open a new incident to page anyone")
    now = _utc(now or store.clock())
    actor = operator_ref(catalog, operator) or operator
    refs = tuple(p.ref for p in people)  # in the order given (nearest the incident first)
    names = tuple(p.name for p in people)
    bucket = _bucket(now)
    earlier = _recent_page(store, incident.id, refs, bucket - REPEAT_WINDOW, now)
    if earlier is not None:
        return _already(store, incident, people, earlier)
    key = page_key(incident.id, refs, bucket)
    current = store.ledger_get(key)
    if current is not None and (current.status == "done" or not _stale(current, now)):
        return _already(store, incident, people, current)
    message = (
        f"[{incident.severity}] {incident.id}: {incident.title} (asset {incident.asset}). "
        f"Paged by {actor} with oncall."
    )
    payload: dict[str, Any] = {"message": message, "to": list(refs), "webhook": None}
    rendered = RenderedAction("notify", f"notify to {', '.join(refs)}: {message}", payload, key)
    token = new_session()
    run = store.create_run(
        incident.id,
        PAGE_RUNBOOK_ID,
        PAGE_VERSION,
        PAGE_SHA256,
        {"to": list(refs)},
        actor,
        kind=PAGE_KIND,
        session=token,
    )
    once = ExecuteOnce(store, run.id, incident.id, token, NoLeases(run.id))
    claimed = _claim(store, once, key, rendered, current)
    if claimed is not None:  # someone else is paging them at this very moment
        store.set_run_status(run.id, "done")
        return _already(store, incident, people, claimed)
    said: list[str] = []
    runtime = ActionRuntime(
        connections={},
        workdir=workdir,
        timeout=PAGE_TIMEOUT_SECONDS,
        idempotency_key=key,
        notify_webhook=notify_webhook,
        labels={"incident": incident.id, "run": run.id},
        say=said.append,
    )
    action = NotifyAction(type="notify", message=message, to=list(refs))
    try:
        result = once.effect((), 1, lambda: action.execute(rendered, runtime), _no_retry)
    except ActionFailed as exc:
        once.failed(key, str(exc))
        store.set_run_status(run.id, "failed")
        store.append_event(
            incident.id,
            "note",
            f"page to {', '.join(names)} failed: {exc}; nobody was paged by oncall",
            actor,
            {"to": list(refs), "error": str(exc), "key": key, "run": run.id},
        )
        raise PageFailed(f"page to {', '.join(names)} failed: {exc}") from exc
    delivered = str(result.output.get("delivered", "printed"))
    once.done(key, {**result.output, "message": message}, 1)
    store.set_run_status(run.id, "done")
    how = "by webhook" if delivered == "webhook" else "no webhook: message shown to the operator"
    event = store.append_event(
        incident.id,
        "page",
        f"paged {', '.join(names)} ({how})",
        actor,
        {
            "to": list(refs),
            "delivered": delivered,
            "message": message,
            "key": key,
            "run": run.id,
            "reasons": {p.ref: list(getattr(p, "reasons", ())) for p in people},
        },
    )
    return PageResult(
        incident.id,
        "sent",
        refs,
        names,
        message,
        delivered,
        event.at,
        run.id,
        actor,
        key,
        _people(people),
    )


# -- the pieces -----------------------------------------------------------------------------------


def _distinct(targets: Sequence[Pageable]) -> list[Pageable]:
    seen: set[str] = set()
    people = []
    for target in targets:
        if target.ref not in seen:
            seen.add(target.ref)
            people.append(target)
    return people


def _people(people: Sequence[Pageable]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "ref": p.ref,
            "name": p.name,
            "email": p.email,
            "reasons": list(getattr(p, "reasons", ())),
        }
        for p in people
    )


def _words(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    return "a minute" if minutes == 1 else f"{minutes} minutes"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _bucket(now: datetime) -> datetime:
    """The start of the window `now` falls in (windows counted from the epoch)."""
    span = REPEAT_WINDOW.total_seconds()
    start = int(now.timestamp() // span * span)
    return datetime.fromtimestamp(start, UTC)


def page_key(incident_id: str, refs: Sequence[str], at: datetime) -> str:
    """The ledger key of a page to these people about this incident in the window `at` is in."""
    window = {"to": sorted(refs), "window": _bucket(_utc(at)).isoformat()}
    return step_key(incident_id, PAGE_RUNBOOK_ID, PAGE_VERSION, PAGE_STEP, window)


def _stale(entry: LedgerEntry, now: datetime) -> bool:
    """A failed page may be retried; a started one only once it has clearly died."""
    if entry.status == "failed":
        return True
    return entry.status == "started" and _utc(entry.started_at) < now - STALE_AFTER


def _recent_page(
    store: Store,
    incident_id: str,
    refs: tuple[str, ...],
    bucket: datetime,
    now: datetime,
) -> LedgerEntry | None:
    """The page in the window before, if it went out (or is going out) less than
    `REPEAT_WINDOW` ago."""
    entry = store.ledger_get(page_key(incident_id, refs, bucket))
    if entry is None or entry.status == "failed":
        return None
    if entry.status == "done":
        finished = _utc(entry.finished_at or entry.started_at)
        return entry if finished > now - REPEAT_WINDOW else None
    return None if _stale(entry, now) else entry


def _claim(
    store: Store,
    once: ExecuteOnce,
    key: str,
    rendered: RenderedAction,
    current: LedgerEntry | None,
) -> LedgerEntry | None:
    """Make the page this session's (intent, retry of a failed one, claim of one that died
    mid-way); the entry of whoever got there first when it is not ours."""
    try:
        entry = once.begin(key, PAGE_STEP, rendered.as_dict(), current)
    except (LedgerConflict, Fenced):  # another pager restarted or claimed it first
        entry = store.ledger_get(key)
        assert entry is not None
        return entry
    return None if once.owns(entry) else entry


def _no_retry(attempt: int, exc: ActionFailed) -> None:
    raise exc


def _already(
    store: Store, incident: Incident, people: Sequence[Pageable], entry: LedgerEntry
) -> PageResult:
    run = store.get_run(entry.run_id)
    payload = entry.rendered.get("payload", {})
    output = entry.output or {}
    at = entry.finished_at if entry.status == "done" and entry.finished_at else entry.started_at
    return PageResult(
        incident.id,
        "already_paged",
        tuple(p.ref for p in people),
        tuple(p.name for p in people),
        str(payload.get("message", "")),
        str(output["delivered"]) if "delivered" in output else None,
        _utc(at),
        run.id,
        run.operator,
        entry.key,
        _people(people),
    )


def is_page_run(run: Run) -> bool:
    """Whether a run is a page (`page_people`), not a runbook run: nothing to resume."""
    return run.kind == PAGE_KIND


__all__ = [
    "PAGE_RUNBOOK_ID",
    "REPEAT_WINDOW",
    "STALE_AFTER",
    "NobodyToPage",
    "PageError",
    "PageFailed",
    "PageResult",
    "Pageable",
    "is_page_run",
    "page_key",
    "page_people",
    "people_to_page",
]
