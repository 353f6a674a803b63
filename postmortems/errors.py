"""Errors of the postmortem generator. The CLI maps every `PostmortemError` to exit code 2."""

from __future__ import annotations


class PostmortemError(Exception):
    """Base of every user-facing error raised by `postmortems`."""
