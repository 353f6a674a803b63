"""`sql`: statements run with SQLAlchemy `text()` against a named connection, values bound.

The statement text is never templated: only the values under `params:` are, and they reach the
database as bound parameters, so a value holding `'; DROP TABLE ...` is compared, stored or
deleted by, never executed. Several `statements` run in one transaction. A check runs in a
read-only transaction (SQLite `query_only`, PostgreSQL `READ ONLY`) that is always rolled back.

An optional `preview:` query says what the step would change before it runs ("deletes 490 rows
of 4 loads"); it runs like a check, read-only and rolled back, with the same bound values. Its
first row is the preview: one column is shown as it is, several as "value column, ...".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from runbooks.actions.base import (
    Action,
    ActionFailed,
    ActionResult,
    ActionRuntime,
    ActionTimedOut,
    CheckResult,
    KeyFunction,
    Preview,
    RenderedAction,
    expectation_met,
)
from runbooks.templating import Renderer, is_templated, to_json_value

MAX_ROWS = 50


class SqlAction(Action):
    """`{type: sql, connection: NAME, statement: "...", params: {name: value}}`."""

    type_name: ClassVar[str] = "sql"
    checkable: ClassVar[bool] = True

    type: Literal["sql"]
    connection: str = Field(min_length=1)
    statement: str | None = None
    statements: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    preview_query: str | None = Field(
        default=None,
        alias="preview",
        description="a read-only query whose first row says what the statements would change",
    )

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("statement")
    @classmethod
    def _statement_is_not_templated(cls, value: str | None) -> str | None:
        if value is not None:
            _refuse_template(value)
        return value

    @field_validator("preview_query")
    @classmethod
    def _preview_is_not_templated(cls, value: str | None) -> str | None:
        if value is not None:
            _refuse_template(value)
        return value

    @field_validator("statements")
    @classmethod
    def _statements_are_not_templated(cls, value: list[str] | None) -> list[str] | None:
        for statement in value or []:
            _refuse_template(statement)
        return value

    @model_validator(mode="after")
    def _one_form_and_every_bind_given(self) -> SqlAction:
        if (self.statement is None) == (self.statements is None):
            raise ValueError("give exactly one of 'statement' or 'statements'")
        if self.statements is not None and not self.statements:
            raise ValueError("'statements' is empty")
        wanted: set[str] = set()
        for statement in self.all_statements():
            wanted |= bind_names(statement)
        missing = sorted(wanted - set(self.params))
        if missing:
            raise ValueError(
                f"statement uses :{', :'.join(missing)} but 'params' does not give "
                f"{'it' if len(missing) == 1 else 'them'}"
            )
        if self.preview_query is not None:
            previewed = bind_names(self.preview_query)
            missing = sorted(previewed - set(self.params))
            if missing:
                raise ValueError(
                    f"preview uses :{', :'.join(missing)} but 'params' does not give "
                    f"{'it' if len(missing) == 1 else 'them'}"
                )
            wanted |= previewed
        unused = sorted(set(self.params) - wanted)
        if unused:
            raise ValueError(f"'params' gives {', '.join(unused)} but no statement uses it")
        return self

    def all_statements(self) -> list[str]:
        return [self.statement] if self.statement is not None else list(self.statements or [])

    def render(self, renderer: Renderer, key: KeyFunction | None = None) -> RenderedAction:
        values = {
            name: renderer.value(value, field_name=f"params.{name}")
            for name, value in self.params.items()
        }
        payload = {"connection": self.connection, "statements": self.all_statements()}
        payload["params"] = values
        step_key = key(payload) if key else None
        if self.preview_query is not None:
            # after the key: adding or editing a preview never changes what the step is
            payload["preview"] = self.preview_query
        lines = [f"sql on connection {self.connection!r}:"]
        for statement in self.all_statements():
            body = [line.strip() for line in statement.strip().splitlines() if line.strip()]
            body[-1] += ";"
            lines += [f"  {line}" for line in body]
        if values:
            lines.append("  bound values:")
            lines += [f"    :{name} = {value!r}" for name, value in values.items()]
        return RenderedAction("sql", "\n".join(lines), payload, step_key)

    def execute(self, rendered: RenderedAction, runtime: ActionRuntime) -> ActionResult:
        payload = rendered.payload
        with _connection(payload["connection"], runtime, read_only=False) as conn:
            rowcount, columns, rows = _run(conn, payload, runtime.timeout, commit=True)
        changed = f"{rowcount} row{'' if rowcount == 1 else 's'} changed"
        return ActionResult(
            {"rowcount": rowcount, "columns": columns, "rows": rows}, changed=changed
        )

    def preview(self, rendered: RenderedAction, runtime: ActionRuntime) -> Preview | None:
        """The `preview:` query's first row, read-only and rolled back; None without one."""
        payload = rendered.payload
        query = payload.get("preview")
        if not query:
            return None
        used = bind_names(query)
        only = {
            **payload,
            "statements": [query],
            "params": {k: v for k, v in payload["params"].items() if k in used},
        }
        with _connection(payload["connection"], runtime, read_only=True) as conn:
            _rowcount, columns, rows = _run(conn, only, runtime.timeout, commit=False)
        row = rows[0] if rows else []
        data = dict(zip(columns, row, strict=False))
        if len(row) == 1:
            text = str(row[0])
        elif row:
            text = ", ".join(f"{value} {column}" for column, value in data.items())
        else:
            text = "the preview query returned no row"
        return Preview(text, data)

    def check(self, rendered: RenderedAction, runtime: ActionRuntime, expect: Any) -> CheckResult:
        payload = rendered.payload
        with _connection(payload["connection"], runtime, read_only=True) as conn:
            _rowcount, _columns, rows = _run(conn, payload, runtime.timeout, commit=False)
        observed = rows[0][0] if rows and rows[0] else None
        holds = expectation_met(observed, expect)
        return CheckResult(holds, observed, f"first value {observed!r}")


def _refuse_template(statement: str) -> None:
    if is_templated(statement):
        raise ValueError(
            "SQL statements are not templated; put values under 'params' and use :name in the "
            "statement so they are bound, never pasted into SQL"
        )


def bind_names(statement: str) -> set[str]:
    """The `:name` parameters of a statement, as SQLAlchemy's `text()` parses them."""
    return set(text(statement)._bindparams)


@contextmanager
def _connection(name: str, runtime: ActionRuntime, *, read_only: bool) -> Iterator[Connection]:
    url = runtime.connections.get(name)
    if url is None:
        known = ", ".join(sorted(runtime.connections)) or "none"
        raise ActionFailed(
            f"no connection named {name!r} in oncall.toml [connections] (known: {known})"
        )
    try:
        parsed = make_url(url)
        engine = create_engine(parsed, poolclass=NullPool)
    except (ArgumentError, SQLAlchemyError, ValueError) as exc:
        raise ActionFailed(f"connection {name!r}: bad URL: {exc}") from exc
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        path = parsed.database
        if (
            path
            and path != ":memory:"
            and not path.startswith("file:")
            and not Path(path).is_file()
        ):
            engine.dispose()
            raise ActionFailed(f"connection {name!r}: database file {path} does not exist")

        @event.listens_for(engine, "connect")
        def _sqlite_settings(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA busy_timeout = 10000")
            if read_only:
                cursor.execute("PRAGMA query_only = ON")
            cursor.close()

    try:
        with engine.connect() as conn:
            if read_only and not is_sqlite:
                conn.execute(text("SET TRANSACTION READ ONLY"))
            yield conn
    except DBAPIError as exc:
        raise ActionFailed(f"connection {name!r}: {exc.orig or exc}") from exc
    except SQLAlchemyError as exc:
        raise ActionFailed(f"connection {name!r}: {exc}") from exc
    finally:
        engine.dispose()


def _run(
    conn: Connection, payload: dict[str, Any], timeout: float, *, commit: bool
) -> tuple[int, list[str], list[list[Any]]]:
    """Run every statement in one transaction; return total rowcount and the last result's rows."""
    timed_out = threading.Event()
    raw = conn.connection.dbapi_connection
    is_sqlite = conn.dialect.name == "sqlite"

    def _interrupt() -> None:
        timed_out.set()
        if is_sqlite and raw is not None:
            raw.interrupt()

    if not is_sqlite:
        conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
    timer = threading.Timer(timeout, _interrupt)
    timer.start()
    rowcount = 0
    columns: list[str] = []
    rows: list[list[Any]] = []
    try:
        for statement in payload["statements"]:
            result = conn.execute(text(statement), payload["params"])
            if result.returns_rows:
                columns = list(result.keys())
                rows = [[to_json_value(v) for v in row] for row in result.fetchmany(MAX_ROWS)]
                result.close()
            elif result.rowcount and result.rowcount > 0:
                rowcount += result.rowcount
        if commit:
            conn.commit()
        else:
            conn.rollback()
    except DBAPIError as exc:
        conn.rollback()
        if timed_out.is_set() or "statement timeout" in str(exc.orig):
            raise ActionTimedOut(f"SQL did not finish within {timeout:g}s") from exc
        raise ActionFailed(f"SQL failed: {exc.orig}") from exc
    finally:
        timer.cancel()
    return rowcount, columns, rows
