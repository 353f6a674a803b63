"""The draft reads what the real runbook engine records: a manual step, a step that failed once
then worked, one that kept failing, a lease taken over with --force, and a break-glass use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import demo
from graph.loader import load_catalog
from incidents.store import Store
from postmortems.build import build_draft
from postmortems.model import PostmortemDraft
from postmortems.render import choose_template, render_markdown
from runbooks.engine import RunOptions, start_run
from runbooks.environment import RunbookEnv
from runbooks.prompts import ScriptPrompter
from runbooks.vetting import vet
from tests.postmortems.mdparse import parse

TRAINING_DB = "resource:default/training-db"
RUNBOOK = """\
id: pm-mixed
title: Mixed outcomes
version: 1
params:
  asset: {{type: asset, required: true}}
steps:
  - id: confirm-backup
    title: Confirm a backup of {{{{ asset.name }}}} exists
    action: {{type: manual, instruction: "Check the backup of {{{{ asset.name }}}}"}}
  - id: second-time-lucky
    title: Fails once
    assets: [training-db]
    retries: 1
    action:
      type: command
      argv: [python3, -c, "import pathlib,sys; p=pathlib.Path(sys.argv[1]); n=int(p.read_text() if p.exists() else 0)+1; p.write_text(str(n)); sys.exit(0 if n >= 2 else 'not yet')", "{counter}"]
  - id: always-fails
    title: Always fails
    assets: [training-db]
    on_failure: continue
    action: {{type: command, argv: [python3, -c, "import sys; sys.exit('disk full | retry later')"]}}
  - id: wipe
    title: Destructive, harmless here
    destructive: true
    assets: [training-db]
    action: {{type: command, argv: [python3, -c, "print('ok')"]}}
"""


@pytest.fixture(scope="module")
def draft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostmortemDraft]:
    root = tmp_path_factory.mktemp("pm-engine") / "ws"
    now = datetime.now(UTC) - timedelta(minutes=5)
    demo.init_workspace(root, now)
    store = Store.open(f"sqlite:///{root / '.oncall' / 'state.db'}")
    try:
        demo.break_workspace(root, store, now=now)
        catalog = load_catalog([root / "catalog"])
        runbook = root / "runbooks" / "pm-mixed.yaml"
        runbook.write_text(RUNBOOK.format(counter=root / "attempts"), encoding="utf-8")
        vet(runbook, "maya.singh", root / "runbooks.lock", catalog=catalog)
        env = RunbookEnv(
            root=root, runbooks_dir=root / "runbooks", lock_file=root / "runbooks.lock"
        )

        def start(operator: str, **options: object):
            run_options = RunOptions(yes=True, yes_destructive=True, retry_backoff=0.0, **options)
            return start_run(
                store=store,
                env=env,
                catalog=catalog,
                runbook_id="pm-mixed",
                incident_id="INC-1",
                params={"asset": "training-db"},
                operator=operator,
                options=run_options,
                prompter=ScriptPrompter(True, True, lines=[]),
            )

        first = start("ana.lima")  # holds the lease on training-db, then its laptop dies
        second = start(
            "erin.walsh", force_reason="ana's laptop died", break_glass="ana is unreachable"
        )
        second.run_all()
        first.abandon()
        yield build_draft(store, catalog, "INC-1", workspace_root=root)
    finally:
        store.close()


def test_each_step_outcome_and_who_acted_is_in_the_response(draft: PostmortemDraft) -> None:
    run = next(r for r in draft.runs if r.operator == "user:default/erin.walsh")
    steps = {s.step_id: s for s in run.steps}
    assert list(steps) == ["confirm-backup", "second-time-lucky", "always-fails", "wipe"]
    assert steps["confirm-backup"].manual and steps["confirm-backup"].state == "done"
    assert steps["confirm-backup"].title == "Confirm a backup of training-db exists"
    lucky = steps["second-time-lucky"]
    assert (lucky.state, lucky.failures) == ("done", 1)
    assert steps["always-fails"].state == "failed"
    assert "disk full | retry later" in (steps["always-fails"].last_error or "")
    assert steps["wipe"].state == "done"
    assert {s.actor for s in run.steps} == {"user:default/erin.walsh"}


def test_the_abandoned_first_run_is_listed_with_nothing_recorded(draft: PostmortemDraft) -> None:
    [first] = [r for r in draft.runs if r.operator == "user:default/ana.lima"]
    assert (first.runbook_id, first.status, first.steps) == ("pm-mixed", "running", ())
    doc = parse(render_markdown(draft, choose_template(None, None)))
    assert "No step of this run was recorded." in doc.text_under(f"{first.id}: runbook pm-mixed v1")


def test_failures_manual_steps_break_glass_and_the_lease_takeover_seed_action_items(
    draft: PostmortemDraft,
) -> None:
    by_source: dict[str, list[str]] = {}
    for item in draft.action_items:
        by_source.setdefault(item.source, []).append(item.what)
    assert len(by_source["failed-step"]) == 2
    assert any(
        "second-time-lucky" in w and "a retry then worked" in w for w in by_source["failed-step"]
    )
    assert any("disk full | retry later" in w for w in by_source["failed-step"])
    assert [w for w in by_source["manual-step"] if "confirm-backup" in w]
    assert ["ana is unreachable" in w for w in by_source["break-glass"]] == [True]
    assert ["ana's laptop died" in w for w in by_source["lease-override"]] == [True]
    owners = {i.proposed_owner for i in draft.action_items if i.source != "manual-step"}
    assert owners == {"group:default/team-data"}


def test_the_rendered_action_items_table_keeps_one_row_per_item(draft: PostmortemDraft) -> None:
    doc = parse(render_markdown(draft, choose_template(None, None)))
    [table] = doc.tables_under("Action items")
    assert len(table.rows) == len(draft.action_items)
    assert any("disk full | retry later" in row[1] for row in table.rows)
    assert all(
        row[3].endswith("group:default/team-data") or "(" not in row[3] for row in table.rows
    )


def test_every_catalog_file_in_the_draft_is_relative_to_the_workspace(
    draft: PostmortemDraft,
) -> None:
    for item in draft.action_items:
        if item.source == "catalog-problem":
            assert item.reference and not Path(item.reference).is_absolute()
