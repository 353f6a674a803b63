"""The app's one door to the workspace, catalog, store, runbooks and postmortems.

Every method blocks (file loads, SQL, HTTP) and is called from a thread worker, never from the
event loop, so the UI keeps painting while a 100k-asset catalog loads or a database is slow.
Heavy packages are imported inside the methods that need them: the first paint of the app must
not wait for SQLAlchemy or the catalog loader to import.

The catalog and the store are opened once and shared by every screen; the locks make the first
caller do the work while the others wait for its result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.model import Catalog
    from incidents.store import Store
    from tui.context import AppContext
    from tui.workspace import Workspace

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Backend:
    """Blocking access to everything the screens show; one per app."""

    def __init__(self, context: AppContext, clock: Clock = utc_now) -> None:
        self.context = context
        self.clock = clock
        self._catalog_lock = threading.Lock()
        self._store_lock = threading.Lock()
        self._store: Store | None = None

    # --- the workspace and its resources ----------------------------------------------------

    def workspace(self) -> Workspace:
        """Locating may copy the demo workspace on first use, hence a worker, not the UI thread."""
        return self.context.workspace

    def operator(self) -> str:
        return self.context.operator

    def catalog(self) -> Catalog:
        with self._catalog_lock:
            return self.context.catalog

    def store(self) -> Store:
        with self._store_lock:
            if self._store is None:
                url = self.workspace().database_url
                from incidents.store import Store

                self._store = Store.open(url)
            return self._store

    def close(self) -> None:
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # --- incidents ---------------------------------------------------------------------------

    def list_incidents(self, include_closed: bool = False) -> list[Any]:
        return list(self.store().list_incidents(include_closed=include_closed))

    def get_incident(self, incident_id: str) -> Any:
        return self.store().get_incident(incident_id)

    def open_incident(self, title: str, asset_ref: str, severity: str) -> Any:
        """Open an incident on a catalog asset; the asset is checked against the catalog first."""
        asset = self.catalog().resolve(asset_ref)
        return self.store().open_incident(
            title=title, asset=asset.ref, severity=severity, actor=self.operator()
        )

    # --- the catalog -------------------------------------------------------------------------

    def find_assets(self, text: str, limit: int = 20) -> list[Any]:
        """Fuzzy matches over asset names, titles and tags, best first."""
        from graph.queries import find

        return list(find(self.catalog(), text, limit=limit))
