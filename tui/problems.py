"""Turning any exception into what an operator at 3 AM needs: what went wrong, what to do next.

Screens never show a traceback. Every failure in a worker goes through `explain`, which keeps
the error's own message (our errors already name the file, line and thing at fault) and adds one
concrete next step. Errors are matched by their real classes (`isinstance`, most specific
first); the classes are imported on the first failure, not at start-up, so the app opens
without loading SQLAlchemy or the runbook engine.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True, slots=True)
class Problem:
    """A failure as shown on screen: one line of what happened, one of what to do about it."""

    message: str
    next_step: str
    kind: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.message} — {self.next_step}"


#: A next step: fixed words, or words made from the error (whom to call, say).
NextStep = str | Callable[[BaseException], str]

_CATALOG = "Run `oncall graph check` to list every catalog problem with its line."
_UNREACHABLE = (
    "The database cannot be reached. Check that it is up and that database_url in oncall.toml "
    "is right; this screen retries on its own."
)
_LEASED = (
    "Another run is changing this asset. Wait for it to finish, talk to its holder, or press "
    "ctrl+f to take the lease over with a written reason."
)


@cache
def _next_steps() -> tuple[tuple[type[BaseException], NextStep], ...]:
    """(error class, next step), most specific first: the first class the error is an
    instance of wins. Imported here, on the first failure, to keep start-up light."""
    from graph.errors import AmbiguousAsset, AssetNotFound, CatalogError, GraphError
    from incidents.errors import (
        IllegalTransition,
        IncidentNotFound,
        LeaseHeld,
        StoreError,
        StoreUnavailable,
    )
    from postmortems.errors import PostmortemError
    from runbooks.errors import (
        Fenced,
        LeaseRefused,
        NotPermitted,
        RunbookError,
        RunStillActive,
        VettingError,
    )
    from workspace.errors import WorkspaceError

    return (
        (LeaseHeld, _LEASED),
        (LeaseRefused, _LEASED),
        (
            RunStillActive,
            "That run may still be going on another machine: ask its operator, or press "
            "ctrl+f to take it over with a written reason.",
        ),
        (NotPermitted, _call_instead),
        (
            Fenced,
            "Another session drives this run now; nothing more was done here. Follow it on the "
            "timeline, or resume it from the incident once it stops.",
        ),
        (AssetNotFound, "Check the name, or search for it with g (owners and assets)."),
        (AmbiguousAsset, "Use the full ref (kind:namespace/name) of the one you mean."),
        (IncidentNotFound, "Go back (escape) and pick an incident from the list."),
        (IllegalTransition, "Statuses move open → acknowledged → mitigated → resolved."),
        (
            VettingError,
            "This runbook is not vetted as it stands: dry-run it, or have a reviewer run "
            "`oncall runbook vet FILE --reviewer NAME`.",
        ),
        (CatalogError, _CATALOG),
        (GraphError, _CATALOG),
        (
            StoreUnavailable,
            "Check that the database is up and that database_url in oncall.toml is right; "
            "this screen retries on its own every few seconds.",
        ),
        (
            StoreError,
            "Check database_url in oncall.toml and that the database is reachable; then retry.",
        ),
        (RunbookError, "Fix the runbook file or the parameters, then try again."),
        (PostmortemError, "Check the workspace's templates/ and postmortems/ folders, then retry."),
        (
            WorkspaceError,
            "Fix oncall.toml, or start with --workspace DIR pointing at a workspace.",
        ),
        (ModuleNotFoundError, "This part of oncall is not installed in this environment."),
        (OSError, "Check that the file or directory exists and is writable."),
    )


def _database_errors() -> tuple[type[BaseException], ...]:
    """The driver-level database error class, when SQLAlchemy is loaded: an error of that class
    can only exist once it is, so there is nothing to import (and nothing to wait for) when it
    is not."""
    module = sys.modules.get("sqlalchemy.exc")
    return (module.OperationalError,) if module is not None else ()


def _call_instead(exc: BaseException) -> str:
    """A run refused for want of permission: name whom to call (owner, on call now)."""
    from runbooks.errors import NotPermitted

    request = exc.request if isinstance(exc, NotPermitted) else None
    if request is None or not request.contacts:
        return "Ask an owner or the person on call to run it, or start again and break glass."
    calls = "; ".join(contact.line() for contact in request.contacts)
    return f"Call instead: {calls}. Or start again (ctrl+s) and break glass with a reason."


def explain(exc: BaseException) -> Problem:
    """The message and next step for any exception; unknown ones are labelled as bugs."""
    message = _message_of(exc)
    database = tuple((error, _UNREACHABLE) for error in _database_errors())
    for cls, next_step in database + _next_steps():
        if isinstance(exc, cls):
            return Problem(message, next_step if isinstance(next_step, str) else next_step(exc))
    return Problem(
        f"Unexpected error ({type(exc).__name__}): {message}",
        "This is a bug in oncall; nothing was lost. Retry, and report it with what you did.",
    )


def _message_of(exc: BaseException) -> str:
    text = str(exc).strip()
    module = sys.modules.get("sqlalchemy.exc")
    if module is not None and isinstance(exc, module.DBAPIError):
        # SQLAlchemy's text carries the statement and a URL to its docs: keep the driver's line.
        text = str(exc.orig).strip() if exc.orig is not None else text.split("\n", 1)[0]
    return text.split("\n", 1)[0] if text else type(exc).__name__
