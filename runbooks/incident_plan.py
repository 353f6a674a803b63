"""The recovery plan of an incident, composed once for the CLI (`oncall plan`, `oncall recover`)
and the app (the incident screen's Contaminated/Clean view and its plan screen).

In order: the workspace's lineage files are recorded as run history (unchanged files are
skipped), the bad window is the one given or the `since` the incident's alerts carry, the
contamination analysis runs over the store's run history, and `build_plan` turns it into the
ordered plan, each runbook step described by a dry run of it (what it will change)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from graph.bad_window import analyse
from graph.contamination import Contamination, ContaminationError
from incidents.store import Store
from runbooks.environment import RunbookEnv
from runbooks.errors import RunbookError
from runbooks.library import load_library
from runbooks.lineage_import import import_lineage
from runbooks.plan import Plan, alert_values, build_plan

if TYPE_CHECKING:
    from graph.model import Catalog


@dataclass(frozen=True)
class IncidentRecovery:
    """The analysis behind a plan, the plan itself, and whether there was any run history
    (without, the analysis had nothing to replay, so its "clean" says nothing)."""

    analysis: Contamination
    plan: Plan
    has_run_history: bool


def plan_for_incident(
    *,
    store: Store,
    catalog: Catalog,
    env: RunbookEnv,
    incident_id: str,
    operator: str,
    lineage_paths: Sequence[Path],
    since: str | None = None,
    until: str | None = None,
    warn: Callable[[str], None] | None = None,
    describe: bool = True,
) -> IncidentRecovery:
    """The incident's analysis and plan. `since`/`until` override the window its alerts give;
    with neither, `ContaminationError` says what to pass. `warn` hears each lineage file
    problem (file and line); `describe` renders each runbook step's titles by a dry run."""
    incident = store.get_incident(incident_id)
    values = alert_values(store, incident.id)
    start = since or (str(values["since"]) if "since" in values else None)
    if start is None:
        raise ContaminationError(
            f"{incident.id}'s alerts carry no `since`: pass --since (when {incident.asset} went bad)"
        )
    report = import_lineage(store, lineage_paths)
    for problem in report.problems:
        if warn is not None:
            warn(problem)
    analysis = analyse(catalog, store, incident.asset, start, until, None)
    library = load_library(env.runbooks_dir, env.lock_file)

    def described(runbook_id: str, params: dict[str, str]) -> tuple[str, ...]:
        from runbooks.engine import RunOptions, start_run

        try:
            session = start_run(
                store=store,
                env=env,
                catalog=catalog,
                runbook_id=runbook_id,
                incident_id=incident.id,
                params=params,
                operator=operator,
                options=RunOptions(dry_run=True),
            )
        except RunbookError as exc:
            return (f"(cannot render: {exc})",)
        return tuple(state.title for state in session.plan())

    plan = build_plan(
        catalog=catalog,
        library=library,
        analysis=analysis,
        incident_id=incident.id,
        alert_values=values,
        describe=described if describe else None,
    )
    return IncidentRecovery(analysis, plan, store.has_run_history())
