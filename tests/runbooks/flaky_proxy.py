"""A real HTTP proxy in front of a real service that answers 500 to its first N requests.

The services themselves cannot be made to fail on demand, so the tests put this in between: a
`ThreadingHTTPServer` on a loopback port that answers the first `failures` requests with a 500
(whose body echoes the request's `Authorization` header, the way a careless server's error page
might, so the tests can see it redacted) and forwards every later request to the service.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@contextmanager
def flaky_proxy(target: str, failures: int) -> Iterator[tuple[str, list[str]]]:
    """(the proxy's URL, the request lines it saw); the first `failures` requests get 500."""
    seen: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                seen.append(f"{self.command} {self.path}")
                failing = len(seen) <= failures
            if failing:
                reply = json.dumps(
                    {
                        "error_code": "INTERNAL_ERROR",
                        "message": f"backend store unavailable (auth: "
                        f"{self.headers.get('Authorization')})",
                    }
                ).encode()
                self._send(500, reply, "application/json")
                return
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("host", "content-length", "connection")
            }
            answer = httpx.request(
                self.command, target + self.path, content=body, headers=headers, timeout=30
            )
            self._send(
                answer.status_code,
                answer.content,
                answer.headers.get("content-type", "application/json"),
            )

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a service that is down."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
