"""A corpus of catalogs with one fault each: the fault is reported exactly once, at its file and
line, with its severity, and everything else in the catalog still loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.loader import LINEAGE_SUFFIXES, load_catalog

CORPUS = Path(__file__).parent / "bad_catalogs"

# case → (severity, file, line, entity or None, words in the message, a ref that still loads)
EXPECTED: dict[str, tuple[str, str, int, str | None, str, str]] = {
    "malformed-yaml": (
        "error",
        "catalog.yaml",
        21,
        None,
        "malformed YAML",
        "component:default/good",
    ),
    "bad-name": (
        "error",
        "catalog.yaml",
        12,
        "component:default/bad name!",
        "is not valid",
        "group:default/team-x",
    ),
    "duplicate": (
        "error",
        "catalog.yaml",
        12,
        "component:default/twice",
        "already defined at",
        "component:default/twice",
    ),
    "non-utf8": ("error", "catalog.yaml", 5, None, "not UTF-8", "group:default/team-x"),
    "unknown-kind": (
        "warning",
        "catalog.yaml",
        10,
        "template:default/scaffold",
        "unknown kind 'Template'",
        "group:default/team-x",
    ),
    "dangling-dependson": (
        "warning",
        "catalog.yaml",
        16,
        "component:default/reader",
        "resource:default/nowhere, which does not exist",
        "component:default/reader",
    ),
    "bare-name-dependson": (
        "error",
        "catalog.yaml",
        22,
        "component:default/reader",
        "must name its kind",
        "component:default/reader",
    ),
    "missing-owner": (
        "warning",
        "catalog.yaml",
        12,
        "component:default/orphan",
        "has no owner",
        "component:default/orphan",
    ),
    "unknown-owner": (
        "warning",
        "catalog.yaml",
        14,
        "component:default/adopted",
        "owner group:default/team-nobody does not exist",
        "component:default/adopted",
    ),
    "cycle": (
        "error",
        "catalog.yaml",
        12,
        "component:default/chicken",
        "cycle",
        "component:default/egg",
    ),
    "bad-rotation": (
        "error",
        "catalog.yaml",
        22,
        "rotation:default/x-oncall",
        "unknown time zone",
        "user:default/ann",
    ),
    "rotation-unknown-field": (
        "error",
        "catalog.yaml",
        24,
        "rotation:default/x-oncall",
        "spec.handof: unknown field",
        "user:default/ann",
    ),
    "override-backwards": (
        "error",
        "catalog.yaml",
        25,
        "rotation:default/x-oncall",
        "ends before it starts",
        "user:default/ann",
    ),
    "missing-location-target": (
        "error",
        "catalog.yaml",
        16,
        "location:default/more",
        "not-here.yaml does not exist",
        "system:default/here",
    ),
    "bad-tag": (
        "error",
        "catalog.yaml",
        15,
        "component:default/tagged",
        "tag 'Not OK'",
        "component:default/tagged",
    ),
    "wrong-type": (
        "error",
        "catalog.yaml",
        15,
        "component:default/typed",
        "spec.dependsOn: Input should be a valid list",
        "group:default/team-x",
    ),
    "not-a-mapping": ("error", "catalog.yaml", 9, None, "not a mapping", "group:default/team-x"),
    "malformed-lineage": ("error", "events.ndjson", 2, None, "malformed JSON", "job:etl/load"),
    "lineage-missing-job": (
        "error",
        "events.json",
        8,
        None,
        "job: required field is missing",
        "job:etl/load",
    ),
}


def test_every_case_in_the_corpus_has_an_expectation() -> None:
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_the_fault_is_reported_once_at_its_file_and_line(case: str) -> None:
    severity, file, line, entity, words, survivor = EXPECTED[case]
    folder = CORPUS / case
    lineage = sorted(p for p in folder.iterdir() if p.name.endswith(LINEAGE_SUFFIXES))
    catalog = load_catalog([folder], lineage)
    assert len(catalog.problems) == 1, [str(p) for p in catalog.problems]
    (problem,) = catalog.problems
    assert (problem.severity, Path(problem.file).name, problem.line) == (severity, file, line)
    assert problem.entity == entity
    assert words in problem.message
    assert catalog.get(survivor) is not None


def test_a_duplicate_keeps_the_first_definition() -> None:
    catalog = load_catalog([CORPUS / "duplicate"])
    assert Path(catalog.get("component:default/twice").file).name == "again.yaml"


def test_a_bare_name_in_depends_on_drops_only_that_edge() -> None:
    catalog = load_catalog([CORPUS / "bare-name-dependson"])
    assert catalog.downstream == {}
    assert catalog.get("resource:default/store") is not None


def test_a_cycle_names_every_edge_in_it() -> None:
    catalog = load_catalog([CORPUS / "cycle"])
    (problem,) = catalog.problems
    assert (
        "component:default/chicken → component:default/egg → component:default/chicken"
        in problem.message
    )
    assert problem.message.count("dependsOn") == 2
