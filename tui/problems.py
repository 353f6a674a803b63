"""Turning any exception into what an operator at 3 AM needs: what went wrong, what to do next.

Screens never show a traceback. Every failure in a worker goes through `explain`, which keeps
the error's own message (our errors already name the file, line and thing at fault) and adds one
concrete next step. Classes are matched by name along the MRO so this module imports nothing
heavy at start-up (no SQLAlchemy, no runbook engine) and keeps working for error classes that
other packages add later.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """A failure as shown on screen: one line of what happened, one of what to do about it."""

    message: str
    next_step: str
    kind: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.message} — {self.next_step}"


# Most specific first: the first class name found in the exception's MRO wins.
_NEXT_STEPS: list[tuple[str, str]] = [
    (
        "LeaseHeld",
        "Another run is changing this asset. Wait for it to finish, talk to its holder, "
        "or press ctrl+f to take the lease over with a written reason.",
    ),
    (
        "RunStillActive",
        "That run may still be going on another machine: ask its operator, or press ctrl+f "
        "to take it over with a written reason.",
    ),
    ("AssetNotFound", "Check the name, or search for it with g (owners and assets)."),
    ("AmbiguousAsset", "Use the full ref (kind:namespace/name) of the one you mean."),
    ("IncidentNotFound", "Go back (escape) and pick an incident from the list."),
    ("IllegalTransition", "Statuses move open → acknowledged → mitigated → resolved."),
    (
        "VettingError",
        "This runbook is not vetted as it stands: dry-run it, or have a reviewer run "
        "`oncall runbook vet FILE --reviewer NAME`.",
    ),
    ("PermissionDenied", "Ask an owner or the person on call, or break glass with a reason."),
    ("StepFailed", "Read the step output below, fix the cause, then run the step again (x)."),
    ("CatalogError", "Run `oncall graph check` to list every catalog problem with its line."),
    ("GraphError", "Run `oncall graph check` to list every catalog problem with its line."),
    (
        "StoreUnavailable",
        "Check that the database is up and that database_url in oncall.toml is right; "
        "this screen retries on its own every few seconds.",
    ),
    (
        "OperationalError",
        "The database cannot be reached. Check that it is up and that database_url in "
        "oncall.toml is right; this screen retries on its own.",
    ),
    (
        "StoreError",
        "Check database_url in oncall.toml and that the database is reachable; then retry.",
    ),
    ("RunbookError", "Fix the runbook file or the parameters, then try again."),
    ("PostmortemError", "Check the workspace's templates/ and postmortems/ folders, then retry."),
    ("WorkspaceError", "Fix oncall.toml, or start with --workspace DIR pointing at a workspace."),
    ("ModuleNotFoundError", "This part of oncall is not installed in this environment."),
    ("OSError", "Check that the file or directory exists and is writable."),
]


def explain(exc: BaseException) -> Problem:
    """The message and next step for any exception; unknown ones are labelled as bugs."""
    names = [cls.__name__ for cls in type(exc).__mro__]
    message = _message_of(exc)
    for name, next_step in _NEXT_STEPS:
        if name in names:
            return Problem(message, next_step)
    return Problem(
        f"Unexpected error ({type(exc).__name__}): {message}",
        "This is a bug in oncall; nothing was lost. Retry, and report it with what you did.",
    )


def _message_of(exc: BaseException) -> str:
    text = str(exc).strip()
    if type(exc).__name__ == "OperationalError":
        # SQLAlchemy's text carries the statement and a URL to its docs: keep the driver's line.
        orig = getattr(exc, "orig", None)
        text = str(orig).strip() if orig is not None else text.split("\n", 1)[0]
    first_line = text.split("\n", 1)[0] if text else type(exc).__name__
    return first_line
