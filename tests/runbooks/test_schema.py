"""Loading runbook files: valid ones load, every problem names the file, the line and the step."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.errors import RunbookError
from runbooks.schema import RunbookInvalid, load_runbook, parse_duration

GOOD = """\
id: training-store-partial-load
title: Recover a training store from partial loads
version: 3
applies_to: {types: [training-store]}
params:
  asset: {type: asset, required: true}
  since: {type: datetime, required: true, help: first bad load}
steps:
  - id: pause-etl
    title: Pause the nightly ETL so nothing new lands
    action: {type: sql, connection: ops_db, statement: "UPDATE jobs SET paused = 1 WHERE name = :job", params: {job: nightly-etl}}
    check: {type: sql, connection: ops_db, statement: "SELECT paused FROM jobs WHERE name = :job", params: {job: nightly-etl}, expect: 1}
  - id: delete-partial
    title: Delete the partial batches since {{ since }}
    destructive: true
    timeout: 5m
    action: {type: sql, connection: training_db, statement: "DELETE FROM samples WHERE started_at >= :since", params: {since: "{{ since }}"}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rb.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_design_example_loads_with_typed_actions_and_step_lines(tmp_path: Path) -> None:
    runbook = load_runbook(write(tmp_path, GOOD))
    assert runbook.id == "training-store-partial-load"
    assert runbook.version == 3
    first, second = runbook.spec.steps
    assert first.action.type == "sql" and first.check is not None
    assert second.destructive and second.timeout == 300.0
    assert runbook.step_line("delete-partial") == 13
    assert len(runbook.sha256) == 64


def problem_lines(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RunbookInvalid) as caught:
        load_runbook(write(tmp_path, text))
    return str(caught.value).splitlines()


def test_a_templated_sql_statement_is_refused_at_its_line(tmp_path: Path) -> None:
    text = GOOD.replace(
        '"DELETE FROM samples WHERE started_at >= :since"',
        '"DELETE FROM samples WHERE x = {{ since }}"',
    )
    text = text.replace('params: {since: "{{ since }}"}', "params: {}")
    (line,) = problem_lines(tmp_path, text)
    assert line.startswith(f"{tmp_path / 'rb.yaml'}:17: step 'delete-partial': action.statement:")
    assert "not templated" in line


def test_a_bind_parameter_without_a_value_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("params: {job: nightly-etl}}\n    check", "params: {}}\n    check")
    (line,) = problem_lines(tmp_path, text)
    assert ":11: step 'pause-etl': action:" in line and ":job" in line


def test_every_problem_is_reported_at_once_with_line_and_step(tmp_path: Path) -> None:
    text = """\
id: Bad Id
title: x
version: 0
bogus: 1
steps:
  - id: a
    title: t
    action: {type: sqll}
  - id: b
    title: t
    timeout: soon
    action: {type: manual, instruction: go}
    check: {type: manual, instruction: hi}
"""
    lines = problem_lines(tmp_path, text)
    joined = "\n".join(lines)
    assert ":1: id:" in joined
    assert ":3: version:" in joined
    assert ":4: unknown key 'bogus'" in joined
    assert (
        ":8: step 'a': action: 'type' must be one of sql, http, command, manual, notify" in joined
    )
    assert ":11: step 'b': timeout: a duration" in joined
    assert ":13: step 'b': check: 'type' must be one of sql, http, command" in joined


def test_a_template_naming_an_invisible_variable_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace(
        "Delete the partial batches since {{ since }}", "Delete {{ cycler.__init__ }}"
    )
    (line,) = problem_lines(tmp_path, text)
    assert ":14: step 'delete-partial': title: template uses cycler" in line


def test_a_template_syntax_error_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("since {{ since }}", "since {{ since ")
    (line,) = problem_lines(tmp_path, text)
    assert ":14: step 'delete-partial': title: template error" in line


def test_duplicate_keys_and_bad_yaml_name_their_line(tmp_path: Path) -> None:
    with pytest.raises(RunbookError, match=r"rb.yaml:3: duplicate key 'title'"):
        load_runbook(write(tmp_path, "id: a\ntitle: x\ntitle: y\n"))
    with pytest.raises(RunbookError, match=r"rb.yaml:2: invalid YAML"):
        load_runbook(write(tmp_path, "id: a\n  title: [x\n"))
    with pytest.raises(RunbookError, match="is a YAML mapping"):
        load_runbook(write(tmp_path, "- a\n- b\n"))


def test_duplicate_step_ids_and_reserved_parameter_names_are_refused(tmp_path: Path) -> None:
    dup = GOOD.replace("id: delete-partial", "id: pause-etl")
    assert "step id 'pause-etl' appears twice" in problem_lines(tmp_path, dup)[0]
    reserved = GOOD.replace("  since: {type: datetime", "  steps: {type: datetime")
    reserved = reserved.replace("{{ since }}", "{{ params.steps }}")
    assert "reserved" in "\n".join(problem_lines(tmp_path, reserved))


def test_durations_read_units() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("2m") == 120
    assert parse_duration(3) == 3
    for bad in ("0s", "soon", True, -1):
        with pytest.raises(ValueError):
            parse_duration(bad)
