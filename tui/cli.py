"""The `oncall` command line: opens the app, or runs a sub-command; maps errors to exit codes.

With no sub-command it opens the Textual app. Exit codes: 0 ok, 1 a problem found (e.g. `graph
check` found errors), 2 bad usage or input, 3 fenced: a runbook run was taken over by another
session while this process drove it, and it stopped before any further effect. A user mistake never shows a traceback: every
package's error base class is caught in `main` and printed as one line.

Typer (`tui/root_command.py`) reads every command line except the plain start of the app —
`oncall` with only global options — which `tui/launch.py` reads without importing Typer, so
the app paints sooner. Both build the same `AppContext`.
"""

from __future__ import annotations

import os
import sys

from graph.errors import GraphError
from incidents.errors import StoreError
from postmortems.errors import PostmortemError
from runbooks.errors import Fenced, RunbookError
from tui.launch import app_context
from workspace.errors import WorkspaceError

USER_ERRORS: tuple[type[Exception], ...] = (
    GraphError,
    StoreError,
    RunbookError,
    PostmortemError,
    WorkspaceError,
)

# The name the shell knows: it fixes Click's completion variable whichever way oncall was started.
PROG_NAME = "oncall"
COMPLETION_VARIABLE = "_ONCALL_COMPLETE"


def main() -> None:
    """Console-script entry point: run the app or the Typer app; user errors exit with 2."""
    try:
        # A shell asking for completions runs a bare `oncall` with this variable set: Typer answers.
        completing = COMPLETION_VARIABLE in os.environ
        context = None if completing else app_context(sys.argv[1:])
        if context is not None:
            from tui.app import run_app

            run_app(context)
            return
        from tui.root_command import app

        app(prog_name=PROG_NAME)
    except Fenced as exc:
        print(f"oncall: {exc}", file=sys.stderr)
        sys.exit(Fenced.exit_code)
    except USER_ERRORS as exc:
        print(f"oncall: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("oncall: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
