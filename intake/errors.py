"""Errors of the intake. `BadPayload` becomes a 400 with its one-line message; `IntakeConfigError`
stops `oncall serve` before it listens (exit 2, one line)."""

from __future__ import annotations


class IntakeError(Exception):
    """Base of every user-facing error raised by `intake`."""


class BadPayload(IntakeError):
    """A request body that is not what the endpoint accepts; nothing was stored."""


class IntakeConfigError(IntakeError):
    """`oncall serve` cannot start as configured (no token on a public address, a bad rule)."""
