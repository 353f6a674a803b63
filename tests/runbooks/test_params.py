"""`k=v` parameters checked and typed against the runbook's declaration."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.params import ParamError, parse_assignments, resolve_params
from runbooks.schema import parse_runbook
from tests.runbooks.catalog_fixture import small_catalog

RUNBOOK = """\
id: demo
title: Demo
version: 1
applies_to: {types: [training-store]}
params:
  asset: {type: asset, required: true}
  since: {type: datetime, required: true}
  batches: {type: int, default: 4}
  mode: {type: choice, choices: [fast, safe], default: safe}
  day: {type: string, pattern: '\\d{4}-\\d{2}-\\d{2}'}
steps:
  - id: tell
    title: t
    action: {type: notify, message: "{{ asset.name }} {{ since }} {{ batches }} {{ mode }}"}
"""


@pytest.fixture
def spec():
    return parse_runbook(RUNBOOK, "demo.yaml").spec


def test_values_are_typed_defaults_applied_and_assets_resolved(spec, tmp_path: Path) -> None:
    catalog = small_catalog(tmp_path)
    raw = parse_assignments(["asset=training-db", "since=2024-06-08T02:00", "day=2024-06-07"])
    resolved = resolve_params(spec, raw, catalog)
    assert resolved.stored == {
        "asset": "resource:default/training-db",
        "since": "2024-06-08T02:00:00+00:00",
        "batches": 4,
        "mode": "safe",
        "day": "2024-06-07",
    }
    assert resolved.values["asset"].name == "training-db"
    assert resolved.assets["asset"].type == "training-store"
    again = resolve_params(spec, resolved.stored, catalog)
    assert again.stored == resolved.stored


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["asset=training-db", "since=2024-06-08", "colour=red"], r"no parameter 'colour'"),
        (["asset=training-db"], r"needs --param since"),
        (["asset=training-db", "since=yesterday"], r"since=yesterday: not an ISO 8601"),
        (["asset=training-db", "since=2024-06-08", "batches=4x"], "not an integer"),
        (["asset=training-db", "since=2024-06-08", "mode=yolo"], "must be one of fast, safe"),
        (["asset=training-db", "since=2024-06-08", "day=2024-06-07; DROP"], "must match"),
        (["asset=trainig-db", "since=2024-06-08"], r"no asset named 'trainig-db'; did you mean"),
        (
            ["asset=demand-forecast", "since=2024-06-08"],
            r"does not apply to component:default/demand-forecast",
        ),
        (["asset=ana", "since=2024-06-08"], "is a user, not an asset"),
    ],
)
def test_bad_values_are_refused_with_the_parameter_named(
    spec, tmp_path: Path, items, message
) -> None:
    catalog = small_catalog(tmp_path)
    with pytest.raises(ParamError, match=message):
        resolve_params(spec, parse_assignments(items), catalog)


def test_assignments_need_a_name_and_an_equals_sign_once() -> None:
    assert parse_assignments(["a=b=c", "d="]) == {"a": "b=c", "d": ""}
    for bad in (["novalue"], ["=x"], ["a=1", "a=2"]):
        with pytest.raises(ParamError):
            parse_assignments(bad)
