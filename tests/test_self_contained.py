"""The repository stands on its own: every fixture a test reads lives inside it and is accounted for.

A clone with nothing beside it must run the whole suite. These checks catch the two ways that
breaks: a path built from `__file__` that climbs out of the checkout (`REPO_ROOT.parent / ...`),
and a fixture file added without saying where it comes from (or listed but missing).
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from tests import conftest
from tests.conftest import FIXTURES, REPO_ROOT

# Notes that travel with the copied data; they describe it and are not data themselves.
NOTES = {"SOURCES.md", "backstage-examples/README.md", "external/SOURCES.md"}
# Every package the wheel ships, plus the tests and the benchmarks.
_PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SCANNED = (*_PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"], "tests", "bench")


def _listed_in_sources() -> list[str]:
    text = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([^`]+)` \|", text, re.MULTILINE)


def test_every_fixture_constant_resolves_inside_the_repository() -> None:
    paths = {name: value for name, value in vars(conftest).items() if isinstance(value, Path)}
    assert {"BACKSTAGE_EXAMPLES", "MARQUEZ_EVENTS", "EXTERNAL"} <= paths.keys()
    root = REPO_ROOT.resolve()
    for name, path in paths.items():
        resolved = path.resolve()
        assert resolved.is_relative_to(root), f"{name} = {path} lies outside {root}"
        assert resolved.exists(), f"{name} = {path} does not exist in the checkout"


def test_sources_lists_every_fixture_file_and_nothing_absent() -> None:
    on_disk = {
        p.relative_to(FIXTURES).as_posix()
        for p in FIXTURES.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    listed = _listed_in_sources()
    assert len(listed) == len(set(listed)), "a file is listed twice in SOURCES.md"
    assert sorted(on_disk - NOTES - set(listed)) == [], "fixture files without a SOURCES.md row"
    assert sorted(set(listed) - on_disk) == [], "SOURCES.md rows naming files that are absent"


def _climbs(node: ast.AST) -> tuple[int, bool]:
    """How many directories an expression climbs from `Path(__file__)`, and whether it starts there.

    Understands the chains the code base uses: `.parent` (any number), `.parents[k]` and
    `.resolve()` / `.absolute()` on `Path(__file__)`.
    """
    ups = 0
    while True:
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            ups += 1
            node = node.value
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
        ):
            ups += node.slice.value + 1
            node = node.value.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"resolve", "absolute"}
        ):
            node = node.func.value
        elif isinstance(node, ast.Call) and any(
            isinstance(a, ast.Name) and a.id == "__file__" for a in node.args
        ):
            return ups, True
        else:
            return ups, False


def test_no_code_climbs_out_of_the_repository() -> None:
    """Every `Path(__file__).parent...` chain stays at or below the repository root."""
    escapes: list[str] = []
    for top in SCANNED:
        for source in sorted((REPO_ROOT / top).rglob("*.py")):
            # `Path(__file__).parent` is the file's folder: one climb per part reaches the root.
            depth = len(source.relative_to(REPO_ROOT).parts)
            tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
            for node in ast.walk(tree):
                ups, from_file = _climbs(node)
                if from_file and ups > depth:
                    escapes.append(f"{source.relative_to(REPO_ROOT)}:{node.lineno}")
    assert escapes == []


def test_no_code_names_a_sibling_of_the_checkout() -> None:
    """No path names `REPO_ROOT.parent` (or the like) or a `../shared` folder beside the clone."""
    pattern = re.compile(r"(REPO(_ROOT)?|ROOT)\.parent\b|\.\./shared|[\"']shared[\"']\s*/")
    hits = [
        f"{source.relative_to(REPO_ROOT)}:{number}"
        for top in (*SCANNED, ".ci")
        for source in sorted((REPO_ROOT / top).rglob("*"))
        if source.is_file() and source.suffix in {".py", ".sh", ""} and source != Path(__file__)
        for number, line in enumerate(source.read_text(errors="replace").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []
