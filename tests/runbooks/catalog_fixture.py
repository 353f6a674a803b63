"""A small real catalog (Backstage YAML through the real loader) for runbook tests."""

from __future__ import annotations

from pathlib import Path

from graph.loader import load_catalog
from graph.model import Catalog

CATALOG_YAML = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: data-platform}
spec: {type: team, children: [], members: [ana]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: ana}
spec: {profile: {displayName: Ana Lima, email: ana@example.com}, memberOf: [data-platform]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bo}
spec: {profile: {displayName: Bo Chen, email: bo@example.com}, memberOf: []}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: training-db, tags: [critical]}
spec: {type: training-store, owner: data-platform}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: demand-forecast}
spec: {type: model, owner: data-platform, lifecycle: production}
"""


def small_catalog(directory: Path) -> Catalog:
    path = directory / "catalog.yaml"
    path.write_text(CATALOG_YAML, encoding="utf-8")
    catalog = load_catalog([path])
    assert not catalog.errors, catalog.errors
    return catalog
