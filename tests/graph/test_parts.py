"""Per-file parts (issue 16): a catalog parsed in a process pool, or partly from the per-file
cache after an edit, is exactly the catalog a serial fresh load gives: same entities, same
problems in the same order, same winner of a duplicate definition."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from bench import catalog_gen
from graph import loader, parts
from graph.loader import load_catalog
from graph.model import Catalog

BAD_CATALOGS = Path(__file__).parent / "bad_catalogs"

TEAM = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
"""


def resource(name: str, description: str = "a store", depends: str = "") -> str:
    extra = f", dependsOn: [resource:{depends}]" if depends else ""
    return (
        "---\napiVersion: backstage.io/v1alpha1\nkind: Resource\n"
        f"metadata: {{name: {name}, description: {description}}}\n"
        f"spec: {{type: training-store, owner: team-a{extra}}}\n"
    )


def state(catalog: Catalog) -> dict[str, object]:
    return catalog.state()


class Parses:
    """The files actually parsed (not taken from the part cache), in this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.files: list[str] = []
        original = parts.parse_to_bytes

        def counting(job: tuple[str, str, bool]) -> bytes:
            self.files.append(Path(job[1]).name)
            return original(job)

        monkeypatch.setattr(parts, "parse_to_bytes", counting)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Parses:
    return Parses(monkeypatch)


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """Four files; b.yaml redefines a.yaml's alpha-db (a duplicate across files) and refers to a
    missing asset; d.yaml is malformed after its first document."""
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "a.yaml").write_text(TEAM + resource("alpha-db"), encoding="utf-8")
    (root / "b.yaml").write_text(
        TEAM.replace("team-a", "team-b")
        + resource("alpha-db", "again")
        + resource("beta", depends="nowhere"),
        encoding="utf-8",
    )
    (root / "c.yaml").write_text(
        resource("gamma", depends="alpha-db").lstrip("-\n"), encoding="utf-8"
    )
    (root / "d.yaml").write_text(
        resource("delta").lstrip("-\n") + "---\nkind: [unclosed\n", encoding="utf-8"
    )
    return root


def fresh(root: Path) -> Catalog:
    """The reference: serial, no cache."""
    return load_catalog([root], [], None, workers=1)


def test_a_process_pool_gives_the_serial_catalog_problems_and_order(catalog_dir: Path) -> None:
    serial = fresh(catalog_dir)
    pooled = load_catalog([catalog_dir], [], None, workers=2)
    assert state(pooled) == state(serial)
    assert pooled.problems == serial.problems
    duplicate = [p for p in serial.problems if "duplicate" in p.message or "ambiguous" in p.message]
    assert duplicate and duplicate[0].file.endswith("b.yaml")
    assert serial.entities["resource:default/alpha-db"].file.endswith("a.yaml")


@pytest.mark.parametrize("name", sorted(p.name for p in BAD_CATALOGS.iterdir()))
def test_every_bad_catalog_loads_the_same_in_a_pool(name: str) -> None:
    root = BAD_CATALOGS / name
    serial = load_catalog([root], [], None, workers=1)
    pooled = load_catalog([root], [], None, workers=2)
    assert state(pooled) == state(serial)


def test_a_generated_workspace_loads_the_same_in_a_pool(tmp_path: Path) -> None:
    catalog_gen.generate(6000, tmp_path / "ws")
    catalog, lineage = [tmp_path / "ws" / "catalog"], [tmp_path / "ws" / "lineage"]
    serial = load_catalog(catalog, lineage, None, workers=1)
    pooled = load_catalog(catalog, lineage, None, workers=2)
    assert len(list((tmp_path / "ws" / "catalog").glob("*.yaml"))) > 2
    assert state(pooled) == state(serial)


def test_workers_killed_mid_load_give_the_serial_catalog(
    catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that dies (SIGKILL, the OOM killer) breaks the pool: the files it had not
    parsed yet are parsed in this process, and the catalog is the serial one (never a hang)."""
    submit = loader._Parser.submit
    killed: list[int] = []

    def submit_then_kill(self: loader._Parser, job: tuple[str, str, bool]) -> object:
        call = submit(self, job)
        pool = self._pool
        if pool is not None and not killed:
            for process in list(pool._processes.values()):
                os.kill(process.pid, signal.SIGKILL)
                killed.append(process.pid)
        return call

    monkeypatch.setattr(loader._Parser, "submit", submit_then_kill)
    pooled = load_catalog([catalog_dir], [], None, workers=2)
    assert killed
    assert state(pooled) == state(fresh(catalog_dir))
    assert pooled.problems == fresh(catalog_dir).problems


def test_after_one_file_is_edited_only_that_file_is_parsed(
    catalog_dir: Path, tmp_path: Path, parses: Parses
) -> None:
    cache = tmp_path / "cache"
    load_catalog([catalog_dir], [], cache, workers=1)
    assert sorted(parses.files) == ["a.yaml", "b.yaml", "c.yaml", "d.yaml"]
    parses.files.clear()
    (catalog_dir / "c.yaml").write_text(
        resource("gamma", "edited", depends="alpha-db").lstrip("-\n"), encoding="utf-8"
    )
    reloaded = load_catalog([catalog_dir], [], cache, workers=1)
    assert parses.files == ["c.yaml"]
    assert reloaded.entities["resource:default/gamma"].description == "edited"
    assert state(reloaded) == state(fresh(catalog_dir))


def test_an_edit_that_moves_a_duplicate_keeps_the_serial_winner_and_problems(
    catalog_dir: Path, tmp_path: Path, parses: Parses
) -> None:
    cache = tmp_path / "cache"
    load_catalog([catalog_dir], [], cache, workers=1)
    parses.files.clear()
    # a.yaml no longer defines alpha-db: b.yaml's definition is the only one now
    (catalog_dir / "a.yaml").write_text(TEAM, encoding="utf-8")
    reloaded = load_catalog([catalog_dir], [], cache, workers=1)
    assert parses.files == ["a.yaml"]
    reference = fresh(catalog_dir)
    assert state(reloaded) == state(reference)
    assert reloaded.problems == reference.problems
    assert reloaded.entities["resource:default/alpha-db"].file.endswith("b.yaml")
    assert not [p for p in reloaded.problems if "duplicate" in p.message]


def test_a_file_added_or_removed_is_reflected(
    catalog_dir: Path, tmp_path: Path, parses: Parses
) -> None:
    cache = tmp_path / "cache"
    load_catalog([catalog_dir], [], cache, workers=1)
    parses.files.clear()
    (catalog_dir / "e.yaml").write_text(resource("epsilon").lstrip("-\n"), encoding="utf-8")
    added = load_catalog([catalog_dir], [], cache, workers=1)
    assert parses.files == ["e.yaml"]
    assert "resource:default/epsilon" in added.entities
    assert state(added) == state(fresh(catalog_dir))
    parses.files.clear()
    (catalog_dir / "b.yaml").unlink()
    removed = load_catalog([catalog_dir], [], cache, workers=1)
    assert parses.files == []
    assert "resource:default/beta" not in removed.entities
    assert state(removed) == state(fresh(catalog_dir))
    # the part of the removed file is dropped from the cache
    assert len(list((cache / "parts").glob("*.part"))) == 4


def test_a_damaged_part_is_parsed_again(catalog_dir: Path, tmp_path: Path, parses: Parses) -> None:
    cache = tmp_path / "cache"
    load_catalog([catalog_dir], [], cache, workers=1)
    for part in (cache / "parts").glob("*.part"):
        part.write_bytes(b"not a pickle")
    for whole in cache.glob("catalog-*.bin"):
        whole.unlink()
    parses.files.clear()
    again = load_catalog([catalog_dir], [], cache, workers=1)
    assert sorted(parses.files) == ["a.yaml", "b.yaml", "c.yaml", "d.yaml"]
    assert state(again) == state(fresh(catalog_dir))


def test_the_same_file_reached_by_two_routes_has_two_parts(tmp_path: Path) -> None:
    """A part records its file's path as written: a copy elsewhere is parsed for its own path."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    (one / "x.yaml").write_text(TEAM, encoding="utf-8")
    shutil.copytree(one, two)
    cache = tmp_path / "cache"
    first = load_catalog([one], [], cache, workers=1)
    second = load_catalog([two], [], cache, workers=1)
    assert first.entities["group:default/team-a"].file == str(one / "x.yaml")
    assert second.entities["group:default/team-a"].file == str(two / "x.yaml")


def test_a_script_without_a_main_guard_still_loads_by_parsing_in_process(
    catalog_dir: Path, tmp_path: Path
) -> None:
    """Spawned workers import the main script again; one that loads a catalog at import time
    breaks the pool, and the loader then parses in its own process."""
    import subprocess
    import sys

    from bench.run import REPO_ROOT

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from pathlib import Path\n"
        "from graph.loader import load_catalog\n"
        f"catalog = load_catalog([Path({str(catalog_dir)!r})], [], None, workers=2)\n"
        "print(len(catalog.entities))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(len(fresh(catalog_dir).entities))
