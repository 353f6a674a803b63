"""`oncall.toml`: its schema, checked by hand (this runs before the app's first paint)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workspace.errors import WorkspaceError

CONFIG_NAME = "oncall.toml"


@dataclass(frozen=True)
class WorkspaceConfig:
    """The schema of `oncall.toml`. Unknown keys are errors so a typo never silently does nothing.

    Checked by hand (`parse_config`), not by a validation library: this is read before the
    app's first paint, and importing one costs more than the whole check.
    """

    name: str = "workspace"
    database_url: str | None = None
    catalog: list[str] = field(default_factory=lambda: ["catalog"])
    lineage: list[str] = field(default_factory=lambda: ["lineage"])
    runbooks: str = "runbooks"
    connections: dict[str, str] = field(default_factory=dict)  # name -> URL, both forms
    #: name -> where its credential comes from ({"token_env": "X"}, never the credential itself)
    #: and, for Airflow, its api_version
    connection_credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    operators: dict[str, str] = field(default_factory=dict)  # OS user name -> catalog user ref
    # `--as` / $ONCALL_USER may name anyone, not only the OS user's mapped ref (the demo sets it)
    allow_impersonation: bool = False
    notify_webhook: str | None = None
    # label name -> label value -> asset: how `oncall serve` finds an alert's asset
    alerts: dict[str, dict[str, str]] = field(default_factory=dict)
    # an alert's `severity` label value -> SEV1..SEV4, over the intake's defaults
    alert_severities: dict[str, str] = field(default_factory=dict)
    intake: dict[str, str] = field(default_factory=dict)  # `oncall serve` settings (INTAKE_KEYS)
    given: frozenset[str] = frozenset()  # the keys oncall.toml sets (the others are defaults)


#: What each key holds: "text" a string, "texts" a list of strings, "table" string -> string,
#: "tables" string -> table of strings, "connections" string -> a URL string or a
#: `[connections.NAME]` table (see CONNECTION_KEYS).
CONFIG_KEYS: dict[str, str] = {
    "name": "text",
    "database_url": "text",
    "catalog": "texts",
    "lineage": "texts",
    "runbooks": "text",
    "connections": "connections",
    "operators": "table",
    "allow_impersonation": "bool",
    "notify_webhook": "text",
    "alerts": "tables",
    "alert_severities": "table",
    "intake": "table",
}

#: The keys of the `[intake]` table (`oncall serve`); any other is an error.
INTAKE_KEYS: frozenset[str] = frozenset({"token_file"})


#: The keys of a `[connections.NAME]` table: its URL, and where the credential comes from: a
#: bearer token or a user's password, each read from an environment variable or a file when a
#: step runs. The workspace holds only these names, so the credential is never stored in it.
#: `api_version` says which REST API an Airflow connection speaks (found when not given).
CONNECTION_KEYS = (
    "url",
    "token_env",
    "token_file",
    "username",
    "password_env",
    "password_file",
    "api_version",
)
CREDENTIAL_KEYS = CONNECTION_KEYS[1:]
#: The values of a connection's `api_version`: Airflow 2's stable REST API, Airflow 3's.
API_VERSIONS = ("v1", "v2")


def parse_config(raw: dict[str, Any]) -> WorkspaceConfig:
    """A `WorkspaceConfig` from parsed TOML, or `ValueError` listing every problem: the keys
    with a value of the wrong type (in the schema's order), then each unknown key."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, shape in CONFIG_KEYS.items():
        if key in raw:
            found = _check_value(key, shape, raw[key])
            if found:
                problems.extend(found)
            else:
                values[key] = raw[key]
    problems.extend(
        f"unknown key {key!r}{_did_you_mean(key, CONFIG_KEYS)}"
        for key in raw
        if key not in CONFIG_KEYS
    )
    if isinstance(values.get("intake"), dict):
        problems.extend(
            f"unknown key 'intake.{key}'{_did_you_mean(key, INTAKE_KEYS)} "
            f"(known: {', '.join(sorted(INTAKE_KEYS))})"
            for key in values["intake"]
            if key not in INTAKE_KEYS
        )
    if problems:
        raise ValueError("; ".join(problems))
    given = frozenset(values)
    if "connections" in values:
        values["connections"], values["connection_credentials"] = _split_connections(
            values["connections"]
        )
    return WorkspaceConfig(**values, given=given)


def _split_connections(
    raw: dict[str, Any],
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """URLs by name, and the credential sources of the connections given as tables."""
    urls: dict[str, str] = {}
    credentials: dict[str, dict[str, str]] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            urls[name] = value
        else:
            urls[name] = value["url"]
            credentials[name] = {k: value[k] for k in CREDENTIAL_KEYS if k in value}
    return urls, credentials


def _did_you_mean(key: str, known: Any) -> str:
    """` (did you mean 'catalog'?)` for the closest known key, or nothing when none is close."""
    import difflib  # only a mistake pays for it

    close = difflib.get_close_matches(key.lower(), sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_value(key: str, shape: str, value: Any) -> list[str]:
    if shape == "bool":
        return [] if isinstance(value, bool) else [_wrong(key, "true or false", value)]
    if shape == "text":
        return [] if isinstance(value, str) else [_wrong(key, "a string", value)]
    if shape == "texts":
        if not isinstance(value, list):
            return [_wrong(key, "a list of strings", value)]
        return [
            _wrong(f"{key}[{i}]", "a string", item)
            for i, item in enumerate(value)
            if not isinstance(item, str)
        ]
    if shape == "connections":
        if not isinstance(value, dict):
            return [_wrong(key, "a table of URLs or connection tables", value)]
        problems: list[str] = []
        for name, item in value.items():
            if isinstance(item, dict):
                problems.extend(_check_connection(f"{key}.{name}", item))
            elif not isinstance(item, str):
                problems.append(_wrong(f"{key}.{name}", "a URL string or a table", item))
        return problems
    if shape == "tables":
        if not isinstance(value, dict):
            return [_wrong(key, "a table of tables of strings", value)]
        found: list[str] = []
        for name, item in value.items():
            found.extend(_check_value(f"{key}.{name}", "table", item))
        return found
    if not isinstance(value, dict):
        return [_wrong(key, "a table of strings", value)]
    return [
        _wrong(f"{key}.{name}", "a string", item)
        for name, item in value.items()
        if not isinstance(item, str)
    ]


def _check_connection(where: str, table: dict[str, Any]) -> list[str]:
    """A `[connections.NAME]` table: a URL, at most one credential, each source named once."""
    problems = [
        _wrong(f"{where}.{k}", "a string", v) for k, v in table.items() if not isinstance(v, str)
    ]
    problems += [
        f"{where}: unknown key {k!r} (known: {', '.join(CONNECTION_KEYS)})"
        for k in table
        if k not in CONNECTION_KEYS and k not in ("password", "token")
    ]
    if "url" not in table:
        problems.append(f"{where}: missing 'url'")
    for a, b in (("token_env", "token_file"), ("password_env", "password_file")):
        if a in table and b in table:
            problems.append(f"{where}: give {a!r} or {b!r}, not both")
    has_token = "token_env" in table or "token_file" in table
    has_password = "password_env" in table or "password_file" in table
    if has_token and ("username" in table or has_password):
        problems.append(f"{where}: give a token or a username and password, not both")
    if has_password and "username" not in table:
        problems.append(f"{where}: a password needs 'username'")
    if "username" in table and not has_password:
        problems.append(f"{where}: 'username' needs 'password_env' or 'password_file'")
    version = table.get("api_version")
    if isinstance(version, str) and version not in API_VERSIONS:
        problems.append(
            f'{where}.api_version: must be "v1" (Airflow 2) or "v2" (Airflow 3), not {version!r}'
        )
    for k in ("password", "token"):
        if k in table:
            problems.append(
                f"{where}.{k}: a credential is never written in oncall.toml; name where it "
                f"comes from with '{k}_env' or '{k}_file'"
            )
    return problems


def _wrong(where: str, expected: str, value: Any) -> str:
    return f"{where}: must be {expected}, not {_toml_type(value)}"


def _toml_type(value: Any) -> str:
    """The TOML name of a parsed value's type, as the person who wrote it knows it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, str):
        return "a string"
    return "a date or time"


def read_config(path: Path) -> WorkspaceConfig:
    """Parse and validate one `oncall.toml`; every problem names the file and the key."""
    import tomllib

    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WorkspaceError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise WorkspaceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        unclosed = unclosed_array(path.read_text(encoding="utf-8"))
        if unclosed is not None:  # tomllib names where it gave up, not where the array began
            line, key = unclosed
            raise WorkspaceError(
                f"{path}:{line}: invalid TOML: the array of {key!r} opened on line {line} "
                "is not closed (a ']' is missing)"
            ) from exc
        raise WorkspaceError(f"{path}: invalid TOML: {exc}") from exc
    try:
        return parse_config(raw)
    except ValueError as exc:
        raise WorkspaceError(f"{path}: {exc}") from None


_ASSIGNMENT = re.compile(r"""^\s*([A-Za-z0-9_\-."' ]+?)\s*=""")
# A `[table]` or `[[array.of.tables]]` header: a bare key starting with a letter, which no array
# element can be.
_TABLE_HEADER = re.compile(r"^\s*\[\[?\s*[A-Za-z_][A-Za-z0-9_\-.]*\s*\]\]?\s*(#.*)?$")


def unclosed_array(text: str) -> tuple[int, str] | None:
    """(line, key) of the first array in `text` that a later key, table header or the end of the
    file interrupts before its `]`; None when every array closes.

    tomllib reports an unclosed array where it noticed (the next key, or the end of the
    document); the person needs the line where they opened it.
    """
    depth = 0
    opened: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        assignment = _ASSIGNMENT.match(line)
        if depth > 0 and (assignment or _TABLE_HEADER.match(line)):
            return opened
        if depth == 0:
            if assignment is None:
                continue
            opened = (number, assignment.group(1).strip().strip("\"'"))
            line = line[assignment.end() :]
        depth = _bracket_depth(line, depth)
        if depth <= 0:
            depth, opened = 0, None
    return opened if depth > 0 else None


def _bracket_depth(line: str, depth: int) -> int:
    """`depth` after the brackets of one line, skipping strings and a trailing comment."""
    i = 0
    while i < len(line):
        char = line[i]
        if char == "#":
            break
        if char in "\"'":
            end = i + 1
            while end < len(line) and line[end] != char:
                end += 2 if char == '"' and line[end] == "\\" else 1
            i = end
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        i += 1
    return depth
