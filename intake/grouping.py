"""Group commit: the webhooks that arrive while one is being written are written next, together,
in one transaction.

SQLite lets one writer in at a time, so `oncall serve` queues its requests on one lock anyway;
profiled under a burst, most of each request's time in the store went to beginning and
committing its own transaction (and writing the same pages again), while the next requests
waited. Here a request puts its alerts in the queue and takes the writer's lock; whoever gets
the lock records every batch queued so far in one `Store.record_alerts` call and hands each
request its own outcomes. A request whose batch was written by someone else finds it done.

Nothing changes for the sender: each request is answered only after the transaction holding its
alerts has committed, and a repeat of an alert in the same group is a duplicate exactly as it
would be one request later. If the group's transaction fails, every batch of the group is tried
again alone, so one bad batch (or the store going away) is answered for itself: 400 for its own
invalid alert, 503 when the store cannot be reached, never an error caused by a neighbour.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from incidents.alerts import AlertOutcome, IncomingAlert

Record = Callable[[Sequence[IncomingAlert]], list[AlertOutcome]]


@dataclass
class _Ticket:
    """One request's batch and, once written, its outcomes or its error."""

    alerts: Sequence[IncomingAlert]
    outcomes: list[AlertOutcome] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


class GroupWriter:
    """Records batches of alerts, one writer at a time, each writer taking every batch queued."""

    def __init__(self, record: Record) -> None:
        self._record = record
        self._queue: list[_Ticket] = []
        self._queue_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def write(self, alerts: Sequence[IncomingAlert]) -> list[AlertOutcome]:
        """The outcomes of `alerts`, once committed (with whatever was queued beside them)."""
        ticket = _Ticket(alerts)
        with self._queue_lock:
            self._queue.append(ticket)
        with self._write_lock:
            # Queued before taking the lock: either a writer before us took it (and it is done)
            # or it is still in the queue, and we write it now.
            if not ticket.done:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._write_group(group)
        if ticket.error is not None:
            raise ticket.error
        return ticket.outcomes

    def _write_group(self, group: list[_Ticket]) -> None:
        try:
            self._write_each_or_all(group)
        except BaseException as exc:  # interrupted: nobody in the group waits for an answer
            for ticket in group:
                if not ticket.done:
                    ticket.error, ticket.done = exc, True
            raise

    def _write_each_or_all(self, group: list[_Ticket]) -> None:
        if len(group) > 1:
            try:
                outcomes = self._record([alert for t in group for alert in t.alerts])
            except Exception:  # each batch again on its own, answered for itself below
                pass
            else:
                start = 0
                for ticket in group:
                    ticket.outcomes = outcomes[start : start + len(ticket.alerts)]
                    ticket.done = True
                    start += len(ticket.alerts)
                return
        for ticket in group:
            try:
                ticket.outcomes = self._record(ticket.alerts)
            except Exception as exc:
                ticket.error = exc
            ticket.done = True
