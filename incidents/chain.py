"""Checking a timeline's hash chain: pure, over rows already read, so it is easy to test and the
same walk serves `verify`, the CLI and the benchmark."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from incidents.canonical import GENESIS_HASH, Origin, event_hash


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
    #: With an anchor (a head hash recorded elsewhere, e.g. in a committed postmortem): the
    #: seq of the event it names, when history up to it verifies; None when it was not found.
    anchor_seq: int | None = None


def check_chain(
    incident_id: str,
    rows: Iterable[Row[Any]],
    last_seq: int,
    head_hash: str,
    anchor: str | None = None,
) -> ChainReport:
    """Walk events in seq order; report the first one whose seq, link or hash does not hold.

    `last_seq`/`head_hash` come from the incident row, written in the same transaction as each
    append, so deleting events from the end is caught as well as edits in the middle. Whoever
    can write the database can also rewrite that head, so `anchor` — a head hash kept outside
    the database (a committed postmortem records one) — must name an event of the verified
    chain: history up to it is then unchanged.
    """
    report = _walk(incident_id, rows, last_seq, head_hash, anchor)
    if anchor is None:
        return report
    if report.anchor_seq is None:
        return ChainReport(
            ok=False,
            count=report.count,
            first_bad=report.first_bad,
            reason=(
                f"the anchored head {anchor[:12]}… is not in the verified timeline: history up "
                "to it was changed, replaced or truncated"
                + (f" ({report.reason})" if report.reason else "")
            ),
            first_bad_id=report.first_bad_id,
        )
    return report


def _walk(
    incident_id: str,
    rows: Iterable[Row[Any]],
    last_seq: int,
    head_hash: str,
    anchor: str | None,
) -> ChainReport:
    anchor_seq: int | None = None
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
            return _bad(count, row, f"event {missing} is missing before #{row.seq}", anchor_seq)
        if row.prev_hash != prev_hash:
            before = f"#{row.seq - 1}" if row.seq > 1 else "the start of the chain"
            return _bad(
                count,
                row,
                f"its prev_hash does not match {before}: #{row.seq} or the one before it was "
                "altered or replaced",
                anchor_seq,
            )
        try:
            data = json.loads(row.data)
        except ValueError:
            return _bad(count, row, "its data is not valid JSON: it was altered", anchor_seq)
        recomputed = event_hash(
            incident_id=incident_id,
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            kind=row.kind,
            message=row.message,
            data=data,
            prev_hash=row.prev_hash,
            origin=_origin(row),
        )
        if recomputed != row.hash:
            return _bad(
                count, row, "its contents do not match its hash: it was altered", anchor_seq
            )
        if anchor is not None and row.hash == anchor:
            anchor_seq = row.seq
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
                anchor_seq=anchor_seq,
            )
        return ChainReport(
            ok=False,
            count=count,
            first_bad=last_seq + 1,
            reason=f"the incident recorded {last_seq} events but #{last_seq + 1} onwards exist",
            anchor_seq=anchor_seq,
        )
    if prev_hash != head_hash:
        return ChainReport(
            ok=False,
            count=count,
            first_bad=last_seq or None,
            reason="the last event's hash does not match the head recorded on the incident",
            anchor_seq=anchor_seq,
        )
    return ChainReport(ok=True, count=count, anchor_seq=anchor_seq)


def _origin(row: Row[Any]) -> Origin | None:
    """What the row's hash covers about who wrote it; None for events from before (no OS user
    recorded), whose hashes cover exactly what they always did."""
    os_user = getattr(row, "os_user", None)
    if os_user is None:
        return None
    return Origin(os_user, row.host or "", bool(row.impersonated))


def _bad(count: int, row: Row[Any], reason: str, anchor_seq: int | None = None) -> ChainReport:
    return ChainReport(
        ok=False,
        count=count,
        first_bad=row.seq,
        reason=reason,
        first_bad_id=row.id,
        anchor_seq=anchor_seq,
    )
