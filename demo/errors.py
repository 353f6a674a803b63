"""Errors of the demo commands. The `oncall demo` commands print them as one line, exit 2."""

from __future__ import annotations


class DemoError(Exception):
    """The demo cannot be set up here (not the demo workspace, not initialised, not empty)."""
