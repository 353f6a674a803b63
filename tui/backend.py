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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.contamination import Contamination
    from graph.impact import Impact
    from graph.model import Catalog, Entity
    from graph.queries import Ownership, Reach
    from incidents.store import Store
    from runbooks.already_done import AlreadyDone
    from runbooks.history import RunRecord
    from runbooks.library import Library
    from runbooks.open_work import OpenWork
    from runbooks.plan import Plan, StepProgress
    from runbooks.suggest import Suggestion
    from tui.context import AppContext
    from workspace.model import Workspace

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
class PostmortemPreview:
    markdown: str
    filename: str


@dataclass(frozen=True, slots=True)
class SavedPostmortem:
    """Where the draft went: `shown_as` is the absolute path (what the screen says)."""

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
        self._search_lock = threading.Lock()
        self._store: Store | None = None
        self._users = 0  # run workers writing through a session right now (see `in_use`)
        self._users_lock = threading.Lock()

    # --- the workspace and its resources ----------------------------------------------------

    def workspace(self) -> Workspace:
        """Locating may copy the demo workspace on first use, hence a worker, not the UI thread."""
        return self.context.workspace

    def operator(self) -> str:
        return self.context.operator

    def catalog(self) -> Catalog:
        with self._catalog_lock:
            return self.context.catalog

    def search_index(self) -> Any:
        """The catalog's fuzzy-search index, built once. The app's start-up worker builds it
        right after the catalog loads, so the first keystroke in a search box does not pay for
        it (~0.2 s at 100k assets); a search typed sooner waits for that build, not a second."""
        from graph.search import finder

        catalog = self.catalog()
        with self._search_lock:
            return finder(catalog)

    def store(self) -> Store:
        with self._store_lock:
            if self._store is None:
                url = self.workspace().database_url
                from incidents.canonical import this_origin
                from incidents.store import Store

                self._store = Store.open(url, clock=self.clock)
                self._store.origin = this_origin(impersonated=self.context.impersonating)
            return self._store

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """Held by a worker while a run session writes through the store: a run cancelled as
        the app quits still records why it stopped, and the store must not be closed under it
        (SQLite used after close can crash the process). The app waits for `idle` first."""
        with self._users_lock:
            self._users += 1
        try:
            yield
        finally:
            with self._users_lock:
                self._users -= 1

    @property
    def idle(self) -> bool:
        with self._users_lock:
            return self._users == 0

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

    def follow(self, incident_id: str) -> Any:
        """A `Follower` of the incident's timeline (incidents.live); close it when done."""
        return self.store().follow(incident_id)

    def follow_all(self) -> Any:
        """A `Follower` of every incident: wakes on a new incident or any append."""
        return self.store().follow()

    def open_incident(self, title: str, asset_ref: str, severity: str) -> Any:
        """Open an incident on a catalog asset; the asset is checked against the catalog first."""
        asset = self.entity(asset_ref)
        return self.store().open_incident(
            title=title, asset=asset.ref, severity=severity, actor=self.operator()
        )

    def open_incidents_on(self, asset_ref: str) -> list[Any]:
        """Incidents still open on this asset (a second one on it is usually a duplicate)."""
        ref = self.entity(asset_ref).ref
        return [i for i in self.store().list_incidents() if i.asset == ref]

    def events(self, incident_id: str, after_seq: int = 0) -> list[Any]:
        return list(self.store().events(incident_id, after_seq=after_seq))

    def verify(self, incident_id: str) -> Any:
        """The timeline's hash-chain verdict (`incidents.chain.ChainReport`)."""
        return self.store().verify(incident_id)

    def set_status(self, incident_id: str, status: str) -> Any:
        return self.store().set_status(incident_id, status, actor=self.operator())

    def open_work(self, incident_id: str, plan: Plan | None = None) -> OpenWork:
        """Runs unfinished and leases held by the incident's runs, and with its recovery
        `plan`, the contaminated assets not recovered yet (asked before closing it)."""
        from dataclasses import replace

        from runbooks.open_work import open_work, unrecovered

        work = open_work(self.store(), incident_id)
        if plan is None:
            return work
        return replace(work, unrecovered=unrecovered(self.plan_progress(plan)))

    def take_command(self, incident_id: str) -> Any:
        return self.store().take_command(incident_id, actor=self.operator())

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
        self.search_index()
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

    def owners(self, ref: str) -> Ownership:
        """Owner, members, on call now and escalation; for a team, the team itself is the owner
        (`graph.impact.answerers`)."""
        from graph.impact import answerers

        return answerers(self.catalog(), ref, self.clock())

    def blast_radius(self, ref: str) -> Reach:
        """Everything `ref` feeds, nearest first, as the query's lazy `Reach`: half of a
        100k-asset graph is a few arrays until someone reads an item (the tree reads a page)."""
        from graph.queries import blast_radius

        return blast_radius(self.catalog(), ref)

    def upstream(self, ref: str) -> Reach:
        from graph.queries import upstream

        return upstream(self.catalog(), ref)

    def impact(self, asset_ref: str) -> Impact:
        """Blast radius, on call per affected team, and who to page (`graph.impact.impact`)."""
        from graph.impact import impact

        return impact(self.catalog(), asset_ref, self.clock())

    # --- runbooks ----------------------------------------------------------------------------

    def runbooks_for(self, ref: str, affected: Sequence[Any] | None = None) -> list[Suggestion]:
        """Runbooks for the asset, then for what it feeds (`runbooks.suggest`)."""
        from runbooks.library import load_library
        from runbooks.suggest import suggest_runbooks

        workspace = self.workspace()
        library = load_library(workspace.runbooks_dir, workspace.lock_file)
        return suggest_runbooks(library, self.catalog(), self.entity(ref), affected or ())

    def alert_params(self, incident_id: str) -> dict[str, str]:
        """Values the incident's alerts carry (`runbooks.plan.alert_values`): they prefill a
        runbook's parameters of the same name, so nobody retypes a timestamp at 3 AM."""
        from runbooks.plan import alert_values

        return {k: str(v) for k, v in alert_values(self.store(), incident_id).items()}

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
        # Absolute: relative to a hidden folder (the demo lives in the user data dir) it
        # cannot be found from a shell.
        shown = str(result.path.resolve())
        return SavedPostmortem(result.path, shown, result.action)

    # --- run history: contamination and the recovery plan --------------------------------------

    def recovery(self, incident_id: str) -> tuple[Contamination, Plan] | None:
        """The contamination analysis and the recovery plan for the incident
        (`runbooks.incident_plan`), or None when its alerts do not say since when its asset
        was bad or there is no run history to replay. Built as `oncall plan` builds it, each
        step described by a dry run: the same plan, so the same digest on the timeline."""
        from graph.contamination import ContaminationError
        from runbooks.incident_plan import plan_for_incident

        store = self.store()
        workspace = self.workspace()
        try:
            found = plan_for_incident(
                store=store,
                catalog=self.catalog(),
                env=self.runbook_env(),
                incident_id=incident_id,
                operator=self.operator(),
                lineage_paths=workspace.lineage_paths,
            )
        except ContaminationError:
            return None
        if not found.has_run_history:
            return None
        return found.analysis, found.plan

    def plan_progress(self, plan: Plan, *, begin: bool = False) -> list[StepProgress]:
        """Where each step of the plan stands, from the incident's runs (`runbooks.plan.progress`,
        as `oncall recover` reads it). `begin`: the operator starts (or continues) the
        recovery: the plan goes on the timeline first, once per distinct plan."""
        from runbooks.plan import progress, record_plan

        if begin:
            record_plan(self.store(), plan, self.operator())
        return progress(self.store(), self.catalog(), self._library(), plan)

    def recovery_stopped(self, plan: Plan, step: StepProgress) -> None:
        """The step's run did not finish: on the timeline as `oncall recover` says it."""
        from runbooks.plan import record_stop

        run = step.run
        record_stop(
            self.store(),
            plan,
            step.step,
            run.id if run else None,
            run.status if run else "not started",
            self.operator(),
        )

    def recovery_finished(self, plan: Plan, steps: list[StepProgress]) -> bool:
        """Every runbook step is done: on the timeline once, as `oncall recover` says it."""
        from runbooks.plan import record_finished

        runs = [s.run.id for s in steps if s.state == "done" and s.run is not None]
        return record_finished(self.store(), plan, runs, self.operator())

    def _library(self) -> Library:
        from runbooks.library import load_library

        workspace = self.workspace()
        return load_library(workspace.runbooks_dir, workspace.lock_file)

    # --- runbook runs ------------------------------------------------------------------------

    def runbook_env(self) -> Any:
        from runbooks.environment import RunbookEnv

        workspace = self.workspace()
        return RunbookEnv(
            root=workspace.root,
            runbooks_dir=workspace.runbooks_dir,
            lock_file=workspace.lock_file,
            connections=workspace.connections,
            credentials=workspace.credentials,
            notify_webhook=workspace.config.notify_webhook,
        )

    def runbook(self, runbook_id: str) -> tuple[Any, str]:
        """The parsed runbook and its vetting state (vetted, changed, unlisted)."""
        from runbooks.library import load_library

        workspace = self.workspace()
        entry = load_library(workspace.runbooks_dir, workspace.lock_file).get(runbook_id)
        if entry.runbook is None:
            assert entry.error is not None
            raise entry.error
        return entry.runbook, entry.state

    def run_records(self, incident_id: str) -> list[RunRecord]:
        """The incident's runbook runs with their ledger counts (pages and dry runs left out):
        what to resume, and which suggestions are done or partial."""
        from runbooks.history import run_records

        return run_records(self.store(), incident_id)

    def abandon_run(self, run_id: str, reason: str) -> RunRecord:
        from runbooks.history import abandon_run

        return abandon_run(self.store(), run_id, reason, self.operator())

    def start_run(
        self,
        *,
        incident_id: str,
        runbook_id: str,
        params: dict[str, Any],
        options: Any,
        prompter: Any,
        on_event: Callable[[Any], None],
    ) -> Any:
        """A `RunSession` with its leases taken (none for a dry run), ready for step one."""
        from runbooks.engine import start_run

        return start_run(
            store=self.store(),
            env=self.runbook_env(),
            catalog=self.catalog(),
            runbook_id=runbook_id,
            incident_id=incident_id,
            params=params,
            operator=self.operator(),
            options=options,
            prompter=prompter,
            on_event=on_event,
            clock=self.clock,
        )

    def resume_run(
        self, *, run_id: str, options: Any, prompter: Any, on_event: Callable[[Any], None]
    ) -> Any:
        from runbooks.engine import resume_run

        return resume_run(
            store=self.store(),
            env=self.runbook_env(),
            catalog=self.catalog(),
            run_id=run_id,
            operator=self.operator(),
            options=options,
            prompter=prompter,
            on_event=on_event,
            clock=self.clock,
        )

    def already_done(
        self, incident_id: str, runbook_id: str, params: dict[str, str]
    ) -> AlreadyDone | None:
        """Would this recovery find nothing to do (`runbooks.already_done`, as the CLI asks)?"""
        from runbooks.already_done import already_done

        return already_done(
            store=self.store(),
            env=self.runbook_env(),
            catalog=self.catalog(),
            runbook_id=runbook_id,
            incident_id=incident_id,
            params=params,
            operator=self.operator(),
            clock=self.clock,
        )

    def page(self, incident_id: str, targets: list[Any]) -> str:
        """Page people through the runbook engine (`runbooks.paging`: ledger, `notify` action,
        `page` event); a repeat within a minute is not sent again. Returns what to tell the
        operator, including the message to pass on when no webhook is set."""
        from runbooks.paging import page_people

        workspace = self.workspace()
        result = page_people(
            self.store(),
            incident_id,
            targets,
            self.operator(),
            notify_webhook=workspace.config.notify_webhook,
            workdir=workspace.root,
            now=self.clock(),
            catalog=self.catalog(),
        )
        names = ", ".join(result.names)
        if not result.sent:
            return f"☎ {result.repeat_explained()}"
        if result.delivered == "webhook":
            return f"☎ Paged {names} by webhook."
        return f"☎ No notify_webhook in oncall.toml; send this to {names}: {result.message}"
