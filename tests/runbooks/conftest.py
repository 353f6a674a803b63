"""The broken demo workspace (seed 000 at a fixed moment), copied fresh for each test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.runbooks.demo_case import DemoCase, build_broken_demo

#: Saturday 14:00 UTC: the first bad load started at 02:00, the business day is Friday.
FIXED_NOW = datetime(2024, 6, 8, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def broken_demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: `demo init` + `demo break`; tests get copies."""
    return build_broken_demo(tmp_path_factory.mktemp("demo-template") / "ws", FIXED_NOW)


@pytest.fixture
def demo(broken_demo_template: Path, tmp_path: Path) -> Iterator[DemoCase]:
    root = tmp_path / "ws"
    shutil.copytree(broken_demo_template, root)
    case = DemoCase(root)
    try:
        yield case
    finally:
        case.close()
