"""How long something took or has been open, in the one compact shape the CLI and the app share:
two units at most (`42s`, `7m 05s`, `3h 12m`, `2d 04h`), enough to read at a glance. Pure, so
the CLI can use it without importing Textual."""

from __future__ import annotations

from datetime import timedelta


def format_duration(delta: timedelta, sep: str = " ") -> str:
    """`sep` goes between the two units (the CLI's tables use none: `3d04h`)."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{sep}{hours:02d}h"
    if hours:
        return f"{hours}h{sep}{minutes:02d}m"
    if minutes:
        return f"{minutes}m{sep}{secs:02d}s"
    return f"{secs}s"
