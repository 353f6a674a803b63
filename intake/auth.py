"""Who may post to the intake: a bearer token, and where the server may listen without one.

The token comes from `$ONCALL_INTAKE_TOKEN`, else the file `[intake] token_file` names (relative
to the workspace; its first line, whitespace stripped). Without a token the server only listens
on a loopback address, where only this machine's users can reach it; anywhere else it refuses
to start, because an open intake lets anyone open incidents.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from pathlib import Path

from intake.errors import IntakeConfigError

ENV_TOKEN = "ONCALL_INTAKE_TOKEN"
LOOPBACK_NAMES: frozenset[str] = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def load_token(root: Path, token_file: str | None) -> str | None:
    """The configured token, or None when neither the variable nor the file is set."""
    env = os.environ.get(ENV_TOKEN)
    if env is not None and env.strip():
        return env.strip()
    if not token_file:
        return None
    path = Path(token_file)
    if not path.is_absolute():
        path = root / path
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise IntakeConfigError(
            f"oncall.toml: intake.token_file: cannot read {path}: {exc.strerror or exc}"
        ) from None
    token = lines[0].strip() if lines else ""
    if not token:
        raise IntakeConfigError(f"oncall.toml: intake.token_file: {path} is empty")
    return token


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback address without a token (before anything listens)."""
    if token is None and not is_loopback(host):
        raise IntakeConfigError(
            f"refusing to listen on {host} without a token: set ${ENV_TOKEN} or "
            "[intake] token_file in oncall.toml (or listen on 127.0.0.1)"
        )


def authorised(header: str | None, token: str | None) -> bool:
    """Whether an `Authorization` header carries the token (always, when there is none)."""
    if token is None:
        return True
    if not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())
