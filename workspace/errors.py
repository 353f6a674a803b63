"""The one error a workspace raises: it cannot be found, or its `oncall.toml` is wrong."""

from __future__ import annotations


class WorkspaceError(Exception):
    """The workspace cannot be found or its `oncall.toml` is wrong. Maps to exit code 2."""


class ImpersonationRefused(WorkspaceError):
    """`--as` / `$ONCALL_USER` names someone the OS user is not mapped to, and the workspace
    does not allow impersonation."""
