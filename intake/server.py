"""`oncall serve`: build the intake for a workspace and run it on uvicorn.

Starlette on uvicorn, rather than FastAPI: the intake has four routes whose bodies are formats
defined elsewhere (Alertmanager's webhook, OpenLineage's RunEvent) and checked by our own code
with one-line reasons; FastAPI's value is request models and generated docs, which we would not
use, at the price of pydantic validation on the hot path. Starlette is the ASGI toolkit FastAPI
itself is built on, small and well kept; uvicorn is its reference server.

Processes are stateless: everything lives in the store, and the store's unique keys deduplicate
alerts, so any number of `oncall serve` processes can share one PostgreSQL behind a balancer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from graph.watch import CatalogWatch
from incidents.store import Store
from intake.alerts import AlertIntake, AssetMapper, severity_map
from intake.app import IntakeService, create_app
from intake.auth import check_bind, load_token
from intake.lineage import LineageIntake
from intake.reload import CatalogReloader
from workspace.model import Workspace

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


@dataclass
class Intake:
    """A built intake: the service the app serves, the store it owns (close it when done) and
    the catalog reloader (start it to follow the catalog's files)."""

    service: IntakeService
    store: Store
    problems: list[str]
    reloader: CatalogReloader


def build_intake(workspace: Workspace, host: str = DEFAULT_HOST) -> Intake:
    """Everything `oncall serve` needs, checked before anything listens: the token (and whether
    `host` may be used without one), the catalog and the `[alerts]` rules, the store."""
    from graph.loader import load_catalog

    config = workspace.config
    token = load_token(workspace.root, config.intake.get("token_file"))
    check_bind(host, token)
    severities = severity_map(config.alert_severities)
    # The files' stamps before they are read: an edit made during the load is seen as a change.
    watch = CatalogWatch(workspace.catalog_paths, workspace.lineage_paths)
    catalog = load_catalog(
        workspace.catalog_paths, workspace.lineage_paths, cache_dir=workspace.cache_dir
    )
    mapper = AssetMapper(catalog, config.alerts)
    store = Store.open(workspace.database_url)
    alerts = AlertIntake(store, mapper, severities)
    service = IntakeService(
        alerts=alerts, ping=store.ping, token=token, lineage=LineageIntake(store).ingest
    )
    reloader = CatalogReloader(workspace, alerts, config.alerts, watch)
    return Intake(service, store, list(mapper.problems), reloader)


def serve(workspace: Workspace, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Run until interrupted (SIGINT/SIGTERM stop it gracefully)."""
    import uvicorn

    intake = build_intake(workspace, host)
    for problem in intake.problems:
        print(f"oncall serve: warning: {problem}", file=sys.stderr)
    if intake.service.token is None:
        print(
            "oncall serve: no token configured: accepting unauthenticated posts on loopback only",
            file=sys.stderr,
        )
    print(
        f"oncall serve: listening on http://{host}:{port} (store {intake.store.where})",
        file=sys.stderr,
        flush=True,
    )
    intake.reloader.start()
    try:
        uvicorn.run(
            create_app(intake.service),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
    finally:
        intake.reloader.stop()
        intake.store.close()
