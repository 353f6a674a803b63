"""Errors of the runbook engine. The CLI maps every `RunbookError` to exit code 2 and one message."""

from __future__ import annotations


class RunbookError(Exception):
    """Base of every user-facing error raised by `runbooks`."""


class Fenced(RunbookError):
    """This process no longer drives its run: another session took it over (`resume --force`,
    or its leases expired and were taken), so every write of this session now fails and the
    process stops before any further effect. The CLI exits with code 3 for it.

    The effect already in flight when the process froze cannot be recalled; the step is in
    doubt for the new session, whose check (or operator) settles it."""

    exit_code = 3

    def __init__(self, run_id: str, by: str | None, host: str | None, detail: str = "") -> None:
        self.run_id = run_id
        self.by = by
        self.host = host
        who = f"{by} on host {host}" if by and host else "another session"
        why = f" ({detail})" if detail else ""
        super().__init__(
            f"fenced: {run_id} was taken over by {who}{why}; this process stopped before any "
            "further effect"
        )
