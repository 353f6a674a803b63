"""Child processes for crash and race tests, started from a clean forkserver.

A plain `fork` of the pytest process copies whatever locks its other threads hold at that moment
(a lease heartbeat, a GC pause, a connection pool), and a child that needs one of them hangs.
The forkserver is a fresh, single-threaded process that forks the children instead; the modules
the children use are imported in it once, so each child still starts in milliseconds.
"""

from __future__ import annotations

import multiprocessing

CHILDREN = multiprocessing.get_context("forkserver")
CHILDREN.set_forkserver_preload(
    ["sqlalchemy", "incidents.store", "runbooks.engine", "runbooks.leasing", "graph.loader"]
)
