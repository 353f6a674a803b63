"""Errors of the store. The CLI maps every `StoreError` to exit code 2 and one message."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every user-facing error raised by `incidents`."""
