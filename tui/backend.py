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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.model import Catalog, Entity
    from incidents.store import Store
    from tui.context import AppContext
    from tui.workspace import Workspace

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AssetHit:
    """One search result, with what a person needs to tell look-alikes apart."""

    ref: str
    name: str
    title: str | None
    kind: str
    type: str | None


@dataclass(frozen=True, slots=True)
class RunbookEntry:
    """A runbook as the lists show it: vetted or not, in words."""

    id: str
    title: str
    version: int
    state: str  # vetted | changed | unlisted

    @property
    def vetted(self) -> bool:
        return self.state == "vetted"


@dataclass(frozen=True, slots=True)
class Owners:
    """Who answers for an entity: the `graph.queries.Ownership` shape, also for teams."""

    asset: str
    owner: str | None
    members: list[Any]
    on_call: Any | None
    escalation: list[str]


@dataclass(frozen=True, slots=True)
class TeamOnCall:
    """One team that owns something in the blast radius, and who answers for it now."""

    team: str
    on_call: Any | None
    asset_count: int


@dataclass(frozen=True, slots=True)
class Impact:
    """An incident's asset, what it feeds, the teams concerned and the people to page."""

    asset: Any
    affected: list[Any]
    teams: list[TeamOnCall]
    page: list[Any]


@dataclass(frozen=True, slots=True)
class PostmortemPreview:
    markdown: str
    filename: str


@dataclass(frozen=True, slots=True)
class SavedPostmortem:
    """Where the draft went: the path relative to the workspace (what the screen says)."""

    path: Path
    shown_as: str
    action: str


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

                self._store = Store.open(url, clock=self.clock)
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
        asset = self.entity(asset_ref)
        return self.store().open_incident(
            title=title, asset=asset.ref, severity=severity, actor=self.operator()
        )

    def events(self, incident_id: str, after_seq: int = 0) -> list[Any]:
        return list(self.store().events(incident_id, after_seq=after_seq))

    def set_status(self, incident_id: str, status: str) -> Any:
        return self.store().set_status(incident_id, status, actor=self.operator())

    def add_note(self, incident_id: str, text: str) -> Any:
        return self.store().append_event(incident_id, "note", text, actor=self.operator())

    # --- the catalog -------------------------------------------------------------------------

    def find_assets(
        self, text: str, limit: int = 20, *, assets_only: bool = False
    ) -> list[AssetHit]:
        """Fuzzy matches over names, titles and tags, best first (teams and people too, unless
        `assets_only`: an incident is opened on something that can break, not on a person)."""
        from graph.queries import find

        catalog = self.catalog()
        hits = []
        for match in find(catalog, text, limit=limit * 3 if assets_only else limit):
            entity = catalog.get(match.ref)
            if entity is None or (assets_only and not entity.is_asset):
                continue
            hits.append(AssetHit(entity.ref, entity.name, entity.title, entity.kind, entity.type))
            if len(hits) >= limit:
                break
        return hits

    def entity(self, ref: str) -> Entity:
        """The catalog entity for a ref or name (raises AssetNotFound / AmbiguousAsset)."""
        catalog = self.catalog()
        return catalog.get(ref) or catalog.resolve(ref)

    def owners(self, ref: str) -> Owners:
        """Owner, members, on call now and escalation; for a team, the team itself is the owner."""
        from graph.queries import current_on_call, owners, person, rotation_for

        catalog = self.catalog()
        entity = self.entity(ref)
        if entity.kind == "group":
            members = [person(catalog, m) for m in catalog.group_members.get(entity.ref, [])]
            rotation = rotation_for(catalog, entity.ref)
            if rotation is None:
                return Owners(entity.ref, entity.ref, members, None, [])
            return Owners(
                entity.ref,
                entity.ref,
                members,
                current_on_call(catalog, rotation, self.clock()),
                [step.ref for step in rotation.escalation],
            )
        found = owners(catalog, entity.ref, self.clock())
        return Owners(found.asset, found.owner, found.members, found.on_call, found.escalation)

    def blast_radius(self, ref: str) -> list[Any]:
        from graph.queries import blast_radius

        return list(blast_radius(self.catalog(), ref))

    def upstream(self, ref: str) -> list[Any]:
        from graph.queries import upstream

        return list(upstream(self.catalog(), ref))

    def impact(self, asset_ref: str) -> Impact:
        """Blast radius, on call per affected team, and who to page, for one asset."""
        from graph.queries import who_to_page

        catalog = self.catalog()
        entity = self.entity(asset_ref)
        affected = self.blast_radius(entity.ref)
        owner_assets: dict[str, list[str]] = {}
        for ref, owner in [(entity.ref, entity.owner), *((a.ref, a.owner) for a in affected)]:
            if owner:
                owner_assets.setdefault(owner, []).append(ref)
        teams = [
            TeamOnCall(owner, self.owners(refs[0]).on_call, len(refs))
            for owner, refs in owner_assets.items()
        ]
        page = who_to_page(catalog, [entity.ref, *(a.ref for a in affected)], self.clock())
        return Impact(entity, affected, teams, page)

    # --- runbooks ----------------------------------------------------------------------------

    def runbooks_for(self, ref: str) -> list[RunbookEntry]:
        """Valid runbooks that apply to the asset, vetted first."""
        from runbooks.library import load_library

        workspace = self.workspace()
        library = load_library(workspace.runbooks_dir, workspace.lock_file)
        entries = [
            RunbookEntry(e.runbook.id, e.runbook.spec.title, e.runbook.version, e.state)
            for e in library.for_asset(self.entity(ref))
            if e.runbook is not None
        ]
        return sorted(entries, key=lambda e: (not e.vetted, e.id))

    # --- postmortems -------------------------------------------------------------------------

    def postmortem_preview(self, incident_id: str) -> PostmortemPreview:
        """The draft rendered with the workspace's template (or the bundled one)."""
        from postmortems.build import build_draft
        from postmortems.render import choose_template, render_markdown
        from postmortems.writer import draft_filename

        workspace = self.workspace()
        draft = build_draft(self.store(), self.catalog(), incident_id, now=self.clock())
        markdown = render_markdown(draft, choose_template(None, workspace.templates_dir))
        incident = draft.incident
        filename = draft_filename(incident.opened_at.date(), incident.title, incident.id)
        return PostmortemPreview(markdown, filename)

    def save_postmortem(self, incident_id: str, preview: PostmortemPreview) -> SavedPostmortem:
        """Write the previewed draft; never overwrites a human-edited file (writes `-2`…)."""
        from postmortems.writer import write_draft

        workspace = self.workspace()
        result = write_draft(
            preview.markdown, workspace.postmortems_dir / preview.filename, incident_id
        )
        try:
            shown = str(result.path.relative_to(workspace.root))
        except ValueError:
            shown = str(result.path)
        return SavedPostmortem(result.path, shown, result.action)
