"""A broken demo workspace as the runbook tests use it: the incident, the engine, the databases."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import demo
from demo.databases import DATABASES, audit_rows
from graph.loader import load_catalog
from graph.model import Catalog
from incidents.store import Store
from runbooks.engine import RunOptions, RunSession, resume_run, start_run
from runbooks.environment import RunbookEnv
from runbooks.prompts import ScriptPrompter
from runbooks.vetting import vet
from tests.conftest import DEMO_WORKSPACE

#: Who runs what in the demo: each an owner of the runbook's asset.
OPERATORS = {
    "training-store-partial-load": "ana.lima",
    "model-rollback": "erin.walsh",
    "feed-backout": "ines.duarte",
}


def build_broken_demo(root: Path, now: datetime) -> Path:
    demo.init_workspace(root, now)
    store = Store.open(state_url(root))
    try:
        demo.break_workspace(root, store, now=now)
    finally:
        store.close()
    return root


def state_url(root: Path) -> str:
    return f"sqlite:///{root / '.oncall' / 'state.db'}"


@cache
def demo_catalog() -> Catalog:
    """The bundled demo catalog, loaded once: every test workspace holds a copy of it."""
    return load_catalog([DEMO_WORKSPACE / "catalog"])


class DecliningOperator(ScriptPrompter):
    """A person at the prompt who says yes to ordinary steps and no to destructive ones (a
    script without `--yes-destructive` is refused before the run starts instead)."""

    def __init__(self) -> None:
        super().__init__(yes=True, yes_destructive=False, lines=[])

    def can_confirm_destructive(self) -> bool:
        return True


class DemoCase:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self._store: Store | None = None
        self.catalog = demo_catalog()
        alert = next(e for e in self.store.events("INC-1") if e.kind == "alert")
        self.incident_id = "INC-1"
        self.since = str(alert.data["since"])
        self.day = str(alert.data["day"])

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(state_url(self.root))
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def env(self) -> RunbookEnv:
        return RunbookEnv(
            root=self.root,
            runbooks_dir=self.root / "runbooks",
            lock_file=self.root / "runbooks.lock",
            connections={
                name: f"sqlite:///{self.data / (name.removesuffix('_db') + '.db')}"
                for name in ("ops_db", "training_db", "registry_db", "feeds_db")
            },
        )

    def params(self, runbook_id: str) -> dict[str, str]:
        if runbook_id == "training-store-partial-load":
            return {"asset": "training-db", "since": self.since, "day": self.day}
        if runbook_id == "model-rollback":
            return {"asset": "demand-forecast", "since": self.since}
        if runbook_id == "feed-backout":
            return {"asset": "pricing-feed", "since": self.since}
        return {}

    def start(
        self,
        runbook_id: str,
        *,
        operator: str | None = None,
        incident: str | None = "INC-1",
        params: Mapping[str, Any] | None = None,
        events: list[Any] | None = None,
        prompter: Any = None,
        clock: Callable[[], datetime] | None = None,
        **options: Any,
    ) -> RunSession:
        options.setdefault("yes", True)
        options.setdefault("yes_destructive", True)
        run_options = RunOptions(**options)
        return start_run(
            store=self.store,
            env=self.env,
            catalog=self.catalog,
            runbook_id=runbook_id,
            incident_id=incident,
            params=self.params(runbook_id) if params is None else params,
            operator=operator or OPERATORS.get(runbook_id, "ana.lima"),
            options=run_options,
            prompter=prompter
            or ScriptPrompter(run_options.yes, run_options.yes_destructive, lines=[]),
            on_event=events.append if events is not None else None,
            clock=clock,
        )

    def resume(
        self,
        run_id: str,
        *,
        operator: str = "ana.lima",
        clock: Callable[[], datetime] | None = None,
        **options: Any,
    ) -> RunSession:
        options.setdefault("yes", True)
        options.setdefault("yes_destructive", True)
        in_doubt = options.pop("in_doubt", None)
        run_options = RunOptions(**options)
        return resume_run(
            store=self.store,
            env=self.env,
            catalog=self.catalog,
            run_id=run_id,
            operator=operator,
            options=run_options,
            prompter=ScriptPrompter(
                run_options.yes, run_options.yes_destructive, in_doubt, lines=[]
            ),
            clock=clock,
        )

    def add_runbook(
        self, text: str, name: str = "extra.yaml", reviewer: str = "maya.singh"
    ) -> Path:
        path = self.root / "runbooks" / name
        path.write_text(text, encoding="utf-8")
        vet(path, reviewer, self.root / "runbooks.lock", catalog=self.catalog)
        return path

    def audit(self) -> dict[str, list[tuple[str, str, str]]]:
        return audit_rows(self.data)

    def effects(self) -> int:
        return sum(len(rows) for rows in self.audit().values())

    def db_bytes(self) -> dict[str, bytes]:
        return {name: (self.data / name).read_bytes() for name in DATABASES}

    def query(self, db: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.data / db)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def kinds(self) -> list[str]:
        return [e.kind for e in self.store.events(self.incident_id)]
