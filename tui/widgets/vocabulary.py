"""The words and symbols every screen uses for states, so meaning never rests on colour alone.

A state is shown as `symbol word`, tinted by a *tone* (a theme variable name such as `error`).
Without colour — a monochrome terminal, a colour-blind reader, a screenshot pasted into chat —
the symbol and the word still say everything. Keeping the table here means an incident's status
looks the same in the list, the header and the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.content import Content

from tui.durations import format_duration


@dataclass(frozen=True, slots=True)
class Badge:
    """How one state is shown: a symbol, a word and the theme variable that tints it."""

    symbol: str
    word: str
    tone: str

    @property
    def text(self) -> str:
        return f"{self.symbol} {self.word}"

    def content(self) -> Content:
        """Tinted by a theme variable, resolved when painted, so light and dark themes both work."""
        return Content.from_markup(f"[${self.tone}]$text[/]", text=self.text)


_NEUTRAL = "foreground"

INCIDENT_STATUS: dict[str, Badge] = {
    "open": Badge("●", "open", "error"),
    "acknowledged": Badge("◐", "acknowledged", "warning"),
    "mitigated": Badge("◑", "mitigated", "accent"),
    "resolved": Badge("✔", "resolved", "success"),
}

SEVERITY: dict[str, Badge] = {
    "SEV1": Badge("▲▲", "SEV1", "error"),
    "SEV2": Badge("▲", "SEV2", "warning"),
    "SEV3": Badge("△", "SEV3", "accent"),
    "SEV4": Badge("·", "SEV4", _NEUTRAL),
}

SEVERITIES: tuple[str, ...] = tuple(SEVERITY)

STEP_STATE: dict[str, Badge] = {
    "pending": Badge("○", "pending", _NEUTRAL),
    "running": Badge("▶", "running", "accent"),
    "done": Badge("✔", "done", "success"),
    "skipped": Badge("↷", "skipped", _NEUTRAL),
    "already-done": Badge("↷", "skipped, already done", "success"),
    "check-holds": Badge("↷", "skipped, already holds", "success"),
    "failed": Badge("✖", "failed", "error"),
    "in-doubt": Badge("?", "in doubt", "warning"),
    "would-run": Badge("◇", "would run (dry run)", "accent"),
}

EVENT_KIND: dict[str, Badge] = {
    "alert": Badge("!", "alert", "error"),
    "note": Badge("✎", "note", _NEUTRAL),
    "status": Badge("◆", "status", "accent"),
    "page": Badge("☎", "page", "warning"),
    "step_started": Badge("▶", "step started", "accent"),
    "step_done": Badge("✔", "step done", "success"),
    "step_failed": Badge("✖", "step failed", "error"),
    "step_skipped": Badge("↷", "step skipped", _NEUTRAL),
    "lease": Badge("⚿", "lease", "warning"),
    "decision": Badge("⚖", "decision", "accent"),
    "override": Badge("⚠", "override", "error"),
}


def badge_for(table: dict[str, Badge], key: str) -> Badge:
    """A known state's badge, or a neutral one naming the unknown state (never a KeyError)."""
    return table.get(key) or table.get(key.lower()) or Badge("•", key, _NEUTRAL)


def format_since(then: datetime | None, now: datetime) -> str:
    """How long ago `then` was, or an em dash when it has not happened."""
    if then is None:
        return "—"
    return format_duration(now - then)


def format_utc(moment: datetime | None) -> str:
    """A timestamp in UTC, the one time zone everyone on an incident call shares."""
    if moment is None:
        return "—"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_until(moment: datetime | None) -> str:
    """A hand-over time, short: `Mon 09:00 UTC` (a rotation period is at most weeks long)."""
    if moment is None:
        return "—"
    return moment.strftime("%a %d %b %H:%M UTC")


def format_clock(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


def short_ref(ref: str | None) -> str:
    """`resource:default/training-db` → `training-db`; other namespaces stay visible."""
    if not ref:
        return "—"
    _, _, rest = ref.partition(":")
    rest = rest or ref
    namespace, _, name = rest.rpartition("/")
    return name if namespace in ("", "default") else rest


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 hop`, `2 hops`, `1 error`, `0 errors`: counts read as English."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def hops_text(hops: int) -> str:
    return plural(hops, "hop")


def prose(text: str) -> Content:
    """Text written in a file (a runbook's description), as a person reads it: `code` spans
    shown bold without their backticks, nothing else interpreted (never markup)."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: show the text as written
        return Content(text)
    return Content.assemble(
        *((part, "bold") if index % 2 else part for index, part in enumerate(parts) if part)
    )
