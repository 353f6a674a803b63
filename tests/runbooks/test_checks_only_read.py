"""What a runbook may do without running, and what it must say before it can run at all.

Every step that can change anything is leased (so it must name an asset); checks only read (an
http check is GET or HEAD; a command check runs only for a vetted runbook); a dry run of an
unvetted runbook runs nothing; a template mistake is found by the dry run, by its type.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runbooks.errors import RunbookError
from runbooks.schema import RunbookInvalid, load_runbook
from tests.runbooks.demo_case import DemoCase


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rb.yaml"
    path.write_text(text, encoding="utf-8")
    return path


NO_ASSET = """\
id: restart-scheduler
title: Restart the scheduler
version: 1
steps:
  - id: look
    title: Look first
    action: {type: manual, instruction: Read the scheduler log}
    assets: [resource:default/scheduler]
  - id: restart
    title: Restart it
    action: {type: command, argv: [systemctl, restart, scheduler]}
"""


def test_a_changing_step_that_names_no_asset_is_refused_at_load_with_file_line_and_step(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, NO_ASSET)
    with pytest.raises(RunbookInvalid) as caught:
        load_runbook(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.step) == (9, "restart")
    assert str(caught.value).startswith(f"{path}:9: step 'restart': runs a command action")
    assert "names no asset it changes" in str(caught.value)


def test_two_runs_of_a_runbook_whose_changing_step_names_no_asset_are_both_refused(
    demo: DemoCase,
) -> None:
    (demo.root / "runbooks" / "restart-scheduler.yaml").write_text(NO_ASSET, encoding="utf-8")
    for _ in range(2):
        with pytest.raises(RunbookError, match="names no asset it changes"):
            demo.start("restart-scheduler", params={})
    assert demo.store.list_runs() == []


HTTP_POST_CHECK = """\
id: poke
title: Poke a service
version: 1
params:
  asset: {type: asset, required: true}
steps:
  - id: poke
    title: Poke it
    action: {type: http, method: POST, url: "https://svc.example/poke"}
    check: {type: http, method: post, url: "https://svc.example/poke"}
"""


def test_an_http_check_that_would_post_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(RunbookInvalid) as caught:
        load_runbook(write(tmp_path, HTTP_POST_CHECK))
    (problem,) = caught.value.problems
    assert problem.step == "poke" and problem.line is not None
    assert "an http check only reads: its method must be GET or HEAD (got POST)" in problem.message


def test_a_dry_run_of_an_unvetted_runbook_runs_nothing_not_even_a_command_check(
    demo: DemoCase,
) -> None:
    marker = demo.root / "written-by-a-check"
    text = f"""\
id: sneaky
title: A check that writes
version: 1
params:
  asset: {{type: asset, required: true}}
steps:
  - id: touch
    title: Touch nothing, supposedly
    action: {{type: manual, instruction: Nothing to do}}
    check: {{type: command, argv: ["{sys.executable}", "-c", "open({str(marker)!r}, 'w').write('x')"]}}
"""
    (demo.root / "runbooks" / "sneaky.yaml").write_text(text, encoding="utf-8")  # not vetted
    seen: list[object] = []
    report = demo.start(
        "sneaky", params={"asset": "training-db"}, dry_run=True, events=seen
    ).run_all()
    assert report.status == "dry_run"
    assert not marker.exists()
    (step,) = report.steps
    assert step.status == "would_run" and "not vetted" in step.message
    assert any("runs nothing, not even its checks" in str(e) for e in seen)


def test_a_misspelt_template_name_is_reported_by_the_dry_run_with_file_line_and_step(
    demo: DemoCase,
) -> None:
    text = """\
id: typo
title: A typo
version: 1
params:
  asset: {type: asset, required: true}
steps:
  - id: first
    title: First
    action: {type: manual, instruction: "Look at {{ asset.ref }}"}
  - id: typo
    title: Typo
    action: {type: manual, instruction: "Look at {{ asset.nmae }}"}
"""
    path = demo.add_runbook(text, name="typo.yaml")
    with pytest.raises(RunbookError) as caught:
        demo.start("typo", params={"asset": "training-db"}, dry_run=True).run_all()
    assert str(caught.value).startswith(f"{path}:10: step 'typo': ")
    assert "nmae" in str(caught.value)


def test_a_template_that_reads_a_later_output_is_rendered_at_run_time_in_a_dry_run(
    demo: DemoCase,
) -> None:
    text = """\
id: chained
title: Uses an earlier output
version: 1
params:
  asset: {type: asset, required: true}
steps:
  - id: first
    title: First
    action: {type: manual, instruction: "Write down a number"}
  - id: second
    title: Second
    action: {type: manual, instruction: "Use {{ steps.first.output.confirmed }}"}
"""
    demo.add_runbook(text, name="chained.yaml")
    report = demo.start("chained", params={"asset": "training-db"}, dry_run=True).run_all()
    assert [s.status for s in report.steps] == ["would_run", "would_run"]
    assert "rendered at run time (uses the output of step 'first')" in report.steps[1].message
