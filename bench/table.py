"""The rows of `bench.timeline` and `bench.intake`: one shape, one judgement, one printer.

Each row carries `ours`, `baseline`, `ratio` and `target_ratio` (issue 16). Where a baseline was
measured in the same run, `status` is judged on the ratio (ours / baseline, higher is better for
rates), which a slower or busier machine does not move; an absolute goal (`at_least`,
`at_most`) is added only where the issue states one (1,000 alerts/s; 1 s from an append to
another process's screen). A row whose own check failed (a chain that does not verify, alerts
lost) fails whatever its timings.
"""

from __future__ import annotations

from typing import Any


def make_row(
    backend: str,
    name: str,
    ours: float,
    unit: str,
    note: str,
    *,
    baseline: float | None = None,
    target_ratio: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    failed: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """One row. `unit` is "/s" (a rate), "s" or "ms" (a time); `failed` names what the row's
    own check found wrong (status "fail"); `detail` is kept in the JSON (counts, retries)."""
    ratio = ours / baseline if baseline else None
    goals: list[bool] = []
    if target_ratio is not None and ratio is not None:
        goals.append(ratio >= target_ratio)
    if at_least is not None:
        goals.append(ours >= at_least)
    if at_most is not None:
        goals.append(ours <= at_most)
    if failed:
        status, note = "fail", f"{failed}; {note}" if note else failed
    elif not goals:
        status = "info"
    else:
        status = "pass" if all(goals) else "fail"
    return {
        "backend": backend,
        "row": name,
        "ours": round(ours, 4),
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": ratio,
        "target_ratio": target_ratio,
        "at_least": at_least,
        "at_most": at_most,
        "unit": unit,
        "status": status,
        "note": note,
        **detail,
    }


def shown(value: float | None, unit: str) -> str:
    """A rate as `12,345/s`, a time in ms."""
    if value is None:
        return ""
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "s":
        return f"{value * 1000:,.0f} ms"
    return f"{value:,.1f} {unit}"


def target(row: dict[str, Any]) -> str:
    """The row's goals as the table shows them: `>=0.5x`, `>=1,000/s`, `<=1,000.0 ms`."""
    parts = []
    if row.get("target_ratio") is not None:
        parts.append(f">={row['target_ratio']:g}x")
    if row.get("at_least") is not None:
        parts.append(">=" + shown(row["at_least"], row["unit"]))
    if row.get("at_most") is not None:
        parts.append("<=" + shown(row["at_most"], row["unit"]))
    return " ".join(parts)


def print_table(rows: list[dict[str, Any]]) -> None:
    """The rows as a table on stdout, in order."""
    width = max([24, *(len(r["row"]) for r in rows)])
    goals = max([7, *(len(target(r)) for r in rows)])
    print(
        f"{'backend':<10} {'row':<{width}} {'ours':>12} {'baseline':>12} {'ratio':>7} "
        f"{'target':>{goals}} {'status':<7} note"
    )
    print("-" * (width + goals + 90))
    for r in rows:
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else ""
        print(
            f"{r['backend']:<10} {r['row']:<{width}} {shown(r['ours'], r['unit']):>12} "
            f"{shown(r['baseline'], r['unit']):>12} {ratio:>7} {target(r):>{goals}} "
            f"{r['status']:<7} {r['note']}"
        )
