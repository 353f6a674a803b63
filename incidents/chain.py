"""Checking a timeline's hash chain: pure, over rows already read, so it is easy to test and the
same walk serves `verify`, the CLI and the benchmark."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from incidents.canonical import GENESIS_HASH, event_hash


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The verdict on one incident's timeline.

    `first_bad` is the per-incident sequence number (`#12`) of the first event that fails;
    `first_bad_id` is that event's database id, None when the failure is a missing event at the
    end (the timeline was truncated) and there is no row to name.
    """

    ok: bool
    count: int
    first_bad: int | None = None
    reason: str | None = None
    first_bad_id: int | None = None


def check_chain(
    incident_id: str, rows: Iterable[Row[Any]], last_seq: int, head_hash: str
) -> ChainReport:
    """Walk events in seq order; report the first one whose seq, link or hash does not hold.

    `last_seq`/`head_hash` come from the incident row, written in the same transaction as each
    append, so deleting events from the end is caught as well as edits in the middle.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    for row in rows:
        count += 1
        if row.seq != expected_seq:
            missing = (
                f"#{expected_seq}"
                if row.seq == expected_seq + 1
                else f"#{expected_seq}-#{row.seq - 1}"
            )
            return _bad(count, row, f"event {missing} is missing before #{row.seq}")
        if row.prev_hash != prev_hash:
            before = f"#{row.seq - 1}" if row.seq > 1 else "the start of the chain"
            return _bad(
                count,
                row,
                f"its prev_hash does not match {before}: #{row.seq} or the one before it was "
                "altered or replaced",
            )
        try:
            data = json.loads(row.data)
        except ValueError:
            return _bad(count, row, "its data is not valid JSON: it was altered")
        recomputed = event_hash(
            incident_id=incident_id,
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            kind=row.kind,
            message=row.message,
            data=data,
            prev_hash=row.prev_hash,
        )
        if recomputed != row.hash:
            return _bad(count, row, "its contents do not match its hash: it was altered")
        prev_hash = row.hash
        expected_seq += 1
    if last_seq != expected_seq - 1:
        if last_seq > expected_seq - 1:
            return ChainReport(
                ok=False,
                count=count,
                first_bad=expected_seq,
                reason=(
                    f"the timeline ends at #{expected_seq - 1} but the incident recorded "
                    f"{last_seq} events: #{expected_seq}-#{last_seq} were deleted"
                ),
            )
        return ChainReport(
            ok=False,
            count=count,
            first_bad=last_seq + 1,
            reason=f"the incident recorded {last_seq} events but #{last_seq + 1} onwards exist",
        )
    if prev_hash != head_hash:
        return ChainReport(
            ok=False,
            count=count,
            first_bad=last_seq or None,
            reason="the last event's hash does not match the head recorded on the incident",
        )
    return ChainReport(ok=True, count=count)


def _bad(count: int, row: Row[Any], reason: str) -> ChainReport:
    return ChainReport(ok=False, count=count, first_bad=row.seq, reason=reason, first_bad_id=row.id)
