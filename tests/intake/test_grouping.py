"""Group commit (intake/grouping.py) on the real store: webhooks queued while one is written are
written together, each answered with its own outcomes; a bad batch in a group is answered for
itself and its neighbours are still recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from incidents.alerts import AlertOutcome, IncomingAlert
from incidents.errors import InvalidValue
from incidents.store import Store
from intake.grouping import GroupWriter

ASSET = "resource:default/training-db"
STARTS = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


def incoming(fingerprint: str, status: str = "firing") -> IncomingAlert:
    return IncomingAlert(
        fingerprint=fingerprint,
        status=status,
        starts_at=STARTS,
        alertname="TrainingLoadFailed",
        asset=ASSET,
        title="Training load failed",
        severity="SEV2",
        message=f"{status}: TrainingLoadFailed",
        data={"fingerprint": fingerprint},
    )


class GatedStore:
    """The real store's `record_alerts`, whose first call waits at a gate (so the next requests
    queue behind it), with each call's batch size written down."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.calls: list[int] = []

    def record(self, alerts: Sequence[IncomingAlert]) -> list[AlertOutcome]:
        if not self.calls:
            self.entered.set()
            assert self.gate.wait(30)
        self.calls.append(len(alerts))
        return self.store.record_alerts(alerts, actor="alertmanager")


@pytest.fixture
def gated(database_url: str) -> Iterator[GatedStore]:
    with Store.open(database_url) as store:
        yield GatedStore(store)


def submit_while_blocked(
    gated: GatedStore, first: list[IncomingAlert], queued: list[list[IncomingAlert]]
) -> list[list[AlertOutcome] | BaseException]:
    """`first` is being written (held at the gate) while every batch of `queued` arrives."""
    writer = GroupWriter(gated.record)
    results: list[list[AlertOutcome] | BaseException] = [[] for _ in range(1 + len(queued))]

    def run(index: int, alerts: list[IncomingAlert]) -> None:
        try:
            results[index] = writer.write(alerts)
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(0, first))]
    threads[0].start()
    assert gated.entered.wait(30)
    for index, alerts in enumerate(queued, start=1):
        threads.append(threading.Thread(target=run, args=(index, alerts)))
        threads[-1].start()
    while len(writer._queue) < len(queued):  # every later batch is waiting in the queue
        threading.Event().wait(0.01)
    gated.gate.set()
    for thread in threads:
        thread.join(30)
    return results


def test_batches_queued_behind_a_write_are_written_in_one_transaction(
    gated: GatedStore,
) -> None:
    results = submit_while_blocked(
        gated, [incoming("a")], [[incoming("b"), incoming("c")], [incoming("d")], [incoming("b")]]
    )
    assert gated.calls == [1, 4]  # the first alone, the three queued behind it together
    first, second, third, repeat = results
    assert isinstance(first, list) and [o.outcome for o in first] == ["opened"]
    assert isinstance(second, list) and [o.fingerprint for o in second] == ["b", "c"]
    assert [o.outcome for o in second] == ["appended", "appended"]
    assert isinstance(third, list) and [o.fingerprint for o in third] == ["d"]
    assert isinstance(repeat, list) and [o.outcome for o in repeat] == ["duplicate"]
    incident = first[0].incident_id
    assert incident is not None
    seqs = [o.seq for batch in (first, second, third) for o in batch]  # type: ignore[union-attr]
    assert seqs == [2, 3, 4, 5]  # one chain, in arrival order, after the opening event
    assert gated.store.verify(incident).ok
    assert len(gated.store.alert_receipts()) == 4


def test_a_bad_batch_in_a_group_is_refused_alone_and_its_neighbours_are_recorded(
    gated: GatedStore,
) -> None:
    results = submit_while_blocked(
        gated,
        [incoming("a")],
        [[incoming("b")], [incoming("x", status="pending")], [incoming("c")]],
    )
    assert gated.calls == [1, 3, 1, 1, 1]  # the group of 3 failed; each batch again alone
    assert isinstance(results[2], InvalidValue) and "pending" in str(results[2])
    assert [o.outcome for o in results[1]] == ["appended"]  # type: ignore[union-attr]
    assert [o.outcome for o in results[3]] == ["appended"]  # type: ignore[union-attr]
    fingerprints = [r["fingerprint"] for r in gated.store.alert_receipts()]
    assert fingerprints == ["a", "b", "c"]  # the bad batch stored nothing
