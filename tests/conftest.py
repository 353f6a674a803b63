"""Shared fixtures: real SQLite files and the real PostgreSQL that CI starts.

`ONCALL_TEST_DATABASE_URL` names a PostgreSQL server (CI exports it from `.ci/run`). Locally a
PostgreSQL test is skipped when none is configured; under CI (`CI` set) it fails instead, so a
green CI run always means the PostgreSQL tests ran.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Public data the tests load, copied unchanged into the repository (see fixtures/SOURCES.md): a
# clone on its own runs every test.
FIXTURES = REPO_ROOT / "tests" / "fixtures"
BACKSTAGE_EXAMPLES = FIXTURES / "backstage-examples"
MARQUEZ_EVENTS = FIXTURES / "marquez-metadata.template.json"
EXTERNAL = FIXTURES / "external"
DEMO_WORKSPACE = REPO_ROOT / "demo" / "workspace"
PG_ENV = "ONCALL_TEST_DATABASE_URL"
MLFLOW_ENV = "ONCALL_TEST_MLFLOW_URL"
AIRFLOW_ENV = "ONCALL_TEST_AIRFLOW_URL"
# Airflow 2 (its stable API, basic auth) and an Airflow 3 that needs a login (simple auth manager
# with a passwords file): both know the user AIRFLOW_USER, whose password is in the file that
# ONCALL_TEST_AIRFLOW_PASSWORD_FILE names (.ci/run writes it outside the checkout).
AIRFLOW2_ENV = "ONCALL_TEST_AIRFLOW2_URL"
AIRFLOW_LOGIN_ENV = "ONCALL_TEST_AIRFLOW_LOGIN_URL"
AIRFLOW_PASSWORD_FILE_ENV = "ONCALL_TEST_AIRFLOW_PASSWORD_FILE"
AIRFLOW_USER = "oncall"


def oncall_argv(*args: str) -> list[str]:
    """argv that runs the real `oncall` command line in a subprocess of this interpreter."""
    return [sys.executable, "-m", "tui.cli", *args]


def postgres_admin_url() -> str:
    """The configured PostgreSQL URL, or skip (locally) / fail (CI) when there is none."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set under CI: the PostgreSQL tests must run")
        pytest.skip(f"{PG_ENV} not set (CI sets it; see .ci/run)")
    return url


def service_url(env: str, what: str) -> str:
    """A real service's URL from `env` (`.ci/run` starts the service and exports it), or skip
    (locally) / fail (CI), exactly like the PostgreSQL tests."""
    url = os.environ.get(env)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{env} is not set under CI: the {what} tests must run")
        pytest.skip(f"{env} not set (CI starts {what} and sets it; see .ci/run)")
    return url.rstrip("/")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(postgres_admin_url())
    name = f"oncall_t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # a configured but unreachable server is a failure, not a skip
        pytest.fail(f"cannot create a test database on {admin.render_as_string()}: {exc}")
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A real SQLite file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs twice: on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("postgres_url")
