"""A testing aid: kill this process with SIGKILL at a named step boundary.

Set `ONCALL_FAILPOINT=<step-id>:<before|after>`:

- `before`: the ledger intent (`started`) is written and the effect has not run;
- `after`: the effect has run and `done` is not written yet.

Both leave the step in doubt, the two cases a resume must settle without repeating or losing the
effect. SIGKILL, not an exception, so no `finally` block, atexit hook or buffered write gets to
tidy up: the process dies the way a laptop lid or an OOM kill ends it. Never set it in
production; it exists for the crash tests (tests/runbooks/test_crash_resume.py).
"""

from __future__ import annotations

import os
import signal
from typing import Literal

ENV_FAILPOINT = "ONCALL_FAILPOINT"
Boundary = Literal["before", "after"]


def failpoint(step_id: str, boundary: Boundary) -> None:
    """Die here if `ONCALL_FAILPOINT` names this step and boundary."""
    wanted = os.environ.get(ENV_FAILPOINT)
    if wanted and wanted.strip() == f"{step_id}:{boundary}":
        os.kill(os.getpid(), signal.SIGKILL)
