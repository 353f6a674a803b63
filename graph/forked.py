"""Parsing a few catalog files in a forked child while this process does something else.

Why: after one file of a 1M-entity catalog changed, the reload (`graph.patch`) must both decode
the cached catalog (most of a second) and parse the changed file again (about half a second,
importing the YAML and pydantic readers included). Neither needs the other until the end, so
the parse runs in a child forked just before the decode, on the other core. A fork, not a pool:
the child starts in a millisecond with everything already imported, where a spawned interpreter
takes longer to start than the parse itself.

Forking is only safe in a process with one thread (a forked copy of a threaded process may hold
another thread's locks), so with other threads running (the app loads the catalog in a worker
thread), on a platform without `fork`, or when the child fails in any way, the files are parsed
in this process when the result is asked for: the result is the same, only later.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading

Job = tuple[str, str, bool]
"""(text, file, strict): what `graph.parts.parse_to_bytes` takes."""


def _parse_here(jobs: list[Job]) -> list[bytes]:
    from graph.parts import parse_to_bytes  # looked up when called: tests count what is parsed

    return [parse_to_bytes(job) for job in jobs]


class ParseAside:
    """The parts of `jobs`, parsed by a forked child when that is safe (see the module)."""

    def __init__(self, jobs: list[Job], *, fork: bool = True) -> None:
        self._jobs = jobs
        self._pid: int | None = None
        self._pipe: int | None = None
        if fork and jobs and hasattr(os, "fork") and threading.active_count() == 1:
            self._start()

    def _start(self) -> None:
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:  # the child: parse, send, and leave without running any exit handler
            status = 1
            try:
                os.close(read_end)
                data = pickle.dumps(_parse_here(self._jobs), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_end, "wb") as out:
                    out.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self._pid, self._pipe = pid, read_end

    def result(self) -> list[bytes]:
        """Each job's pickled part, in order (parsed here if the child did not deliver)."""
        if self._pid is None or self._pipe is None:
            return _parse_here(self._jobs)
        with os.fdopen(self._pipe, "rb") as pipe:
            data = pipe.read()
        self._pipe = None
        status = self._reap()
        if status == 0:
            with contextlib.suppress(Exception):
                parsed = pickle.loads(data)
                if isinstance(parsed, list) and len(parsed) == len(self._jobs):
                    return parsed
        return _parse_here(self._jobs)

    def discard(self) -> None:
        """The result is not wanted: stop the child."""
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None

    def _reap(self) -> int | None:
        pid, self._pid = self._pid, None
        if pid is None:
            return None
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return None
        return os.waitstatus_to_exitcode(status)
