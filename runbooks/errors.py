"""Errors of the runbook engine. The CLI maps every `RunbookError` to exit code 2 and one message."""

from __future__ import annotations


class RunbookError(Exception):
    """Base of every user-facing error raised by `runbooks`."""
