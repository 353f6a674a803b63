"""`oncall graph stats` counts from the entity table's columns: the same numbers as counting
entity objects, which it no longer makes."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

from graph.loader import load_catalog
from tests.conftest import BACKSTAGE_EXAMPLES, oncall_argv


def test_stats_count_what_the_entities_say_kinds_and_asset_types() -> None:
    done = subprocess.run(
        oncall_argv("--catalog", str(BACKSTAGE_EXAMPLES), "graph", "stats", "--json"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)

    catalog = load_catalog([BACKSTAGE_EXAMPLES], [], cache_dir=None)
    entities = list(catalog.entities.values())
    assets = list(catalog.assets())
    assert stats["entities"] == len(entities)
    assert stats["assets"] == len(assets) < len(entities)  # groups, users, locations are not
    assert stats["kinds"] == dict(sorted(Counter(e.kind for e in entities).items()))
    assert stats["types"] == dict(sorted(Counter(e.type for e in assets if e.type).items()))
    assert "group" in stats["kinds"] and "website" in stats["types"]
