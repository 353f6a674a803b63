"""The intake's HTTP surface on Starlette: authentication, body limits, status codes, metrics.

Every decision about alerts and lineage lives in `intake.alerts` / `intake.lineage`; a handler
only authenticates, reads the body within the limit, hands it to the domain function in a worker
thread (the store is synchronous SQLAlchemy) and maps the outcome to a status code:

- 401 without the bearer token; 413 over the body limit; 400 with a one-line reason for a body
  that does not parse or validate (nothing stored);
- 503 (with `Retry-After`) when the store cannot be reached or is locked: Alertmanager retries,
  and the transaction was rolled back, so nothing is half-written;
- 200 with a JSON report of what was recorded.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from incidents.errors import InvalidValue, StoreUnavailable
from intake.alerts import AlertIntake
from intake.auth import authorised
from intake.errors import BadPayload
from intake.metrics import IntakeMetrics

MAX_BODY = 1024 * 1024
"""The largest request body accepted (1 MiB); Alertmanager's groups are far smaller."""

RETRY_AFTER_SECONDS = 5

LineageHandler = Callable[[bytes], dict[str, Any]]


class TooLarge(Exception):
    pass


@dataclass
class IntakeService:
    """What the app serves: the alert intake, the lineage intake (when available), the store's
    reachability check, the token and the metrics."""

    alerts: AlertIntake
    ping: Callable[[], None]
    token: str | None
    lineage: LineageHandler | None = None
    max_body: int = MAX_BODY
    metrics: IntakeMetrics | None = None

    def __post_init__(self) -> None:
        if self.metrics is None:
            self.metrics = IntakeMetrics()


def create_app(service: IntakeService) -> Starlette:
    metrics = service.metrics
    assert metrics is not None

    def timed(
        endpoint: str, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def wrapped(request: Request) -> Response:
            started = time.perf_counter()
            response = await handler(request)
            metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
            metrics.requests.labels(endpoint, str(response.status_code)).inc()
            return response

        return wrapped

    async def guarded(
        request: Request, work: Callable[[bytes], dict[str, Any]]
    ) -> tuple[int, dict[str, Any]]:
        """Authenticate, read the body within the limit, run `work` off the event loop."""
        if not authorised(request.headers.get("authorization"), service.token):
            return 401, {"error": "missing or wrong bearer token (Authorization: Bearer …)"}
        try:
            body = await _read_body(request, service.max_body)
        except TooLarge:
            return 413, {"error": f"body larger than {service.max_body} bytes; nothing stored"}
        if request.headers.get("content-encoding", "").lower() == "gzip":
            try:
                body = _gunzip(body, service.max_body)
            except TooLarge:
                return 413, {"error": f"body larger than {service.max_body} bytes unzipped"}
            except (OSError, EOFError, zlib.error):
                return 400, {
                    "error": "Content-Encoding gzip, but the body is not gzip; nothing stored"
                }
        try:
            return 200, await run_in_threadpool(work, body)
        except BadPayload as exc:
            return 400, {"error": f"{exc}; nothing stored"}
        except InvalidValue as exc:
            return 400, {"error": f"{exc}; nothing stored"}
        except StoreUnavailable as exc:
            return 503, {"error": f"store unavailable: {exc}"}

    def respond(code: int, body: dict[str, Any]) -> JSONResponse:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if code == 503 else None
        if code == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="oncall"'}
        return JSONResponse(body, status_code=code, headers=headers)

    def ingest_alerts(body: bytes) -> dict[str, Any]:
        result = service.alerts.ingest(body)
        report = result.to_json()
        metrics.alerts.labels("received").inc(report["received"])
        metrics.alerts.labels("recorded").inc(report["recorded"])
        metrics.alerts.labels("deduplicated").inc(report["duplicates"])
        unmapped = [u for u in report["unmapped"] if u["outcome"] != "duplicate"]
        metrics.alerts.labels("unmapped").inc(len(unmapped))
        metrics.alerts.labels("opened").inc(len(report["opened"]))
        return report

    async def alertmanager(request: Request) -> Response:
        code, body = await guarded(request, ingest_alerts)
        return respond(code, body)

    async def lineage(request: Request) -> Response:
        if service.lineage is None:
            return respond(501, {"error": "this oncall has no run history store yet"})
        handler = service.lineage

        def ingest(body: bytes) -> dict[str, Any]:
            report = handler(body)
            metrics.lineage_events.labels("received").inc(report.get("received", 0))
            metrics.lineage_events.labels("stored").inc(report.get("stored", 0))
            return report

        code, body = await guarded(request, ingest)
        return respond(201 if code == 200 else code, body)  # Marquez answers 201 Created

    async def healthz(_request: Request) -> Response:
        try:
            await run_in_threadpool(service.ping)
        except StoreUnavailable as exc:
            return respond(503, {"status": "unhealthy", "store": str(exc)})
        return JSONResponse({"status": "ok", "store": "reachable"})

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route(
            "/hooks/alertmanager",
            timed("/hooks/alertmanager", alertmanager),
            methods=["POST"],
        ),
        Route("/api/v1/lineage", timed("/api/v1/lineage", lineage), methods=["POST"]),
        Route("/healthz", timed("/healthz", healthz), methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _gunzip(body: bytes, limit: int) -> bytes:
    """A gzip body (OpenLineage's HTTP transport can compress), refused past `limit` unzipped."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data = inflater.decompress(body, limit + 1)
    if len(data) > limit or inflater.unconsumed_tail:
        raise TooLarge
    if not inflater.eof:
        raise EOFError("truncated gzip body")
    return data


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit` (by header, or while read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
