"""Each action type against the real thing: SQLite files, subprocesses, and respx for HTTP."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from runbooks.actions import (
    ACTIONS,
    CHECKS,
    MISSING,
    ActionDeclined,
    ActionFailed,
    ActionRuntime,
    ActionTimedOut,
    render_check,
)
from runbooks.templating import Renderer, TemplateContext

EVIL = "x'); DROP TABLE items; --"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "items.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO items (name) VALUES ('a'), ('b')")
    return path


def runtime(tmp_path: Path, db: Path | None = None, **kw: object) -> ActionRuntime:
    conns = {"main": f"sqlite:///{db}"} if db else {}
    return ActionRuntime(connections=conns, workdir=tmp_path, **kw)  # type: ignore[arg-type]


def renderer(**params: object) -> Renderer:
    return Renderer(TemplateContext(params=dict(params)))


def names(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM items ORDER BY id")]


def test_sql_binds_a_value_full_of_sql_so_it_is_stored_not_executed(
    tmp_path: Path, db: Path
) -> None:
    action = ACTIONS["sql"].model_validate(
        {
            "type": "sql",
            "connection": "main",
            "statement": "INSERT INTO items (name) VALUES (:name)",
            "params": {"name": "{{ name }}"},
        }
    )
    rendered = action.render(renderer(name=EVIL))
    assert f":name = {EVIL!r}" in rendered.text
    result = action.execute(rendered, runtime(tmp_path, db))
    assert result.output["rowcount"] == 1
    assert names(db) == ["a", "b", EVIL]


def test_sql_statements_run_in_one_transaction(tmp_path: Path, db: Path) -> None:
    action = ACTIONS["sql"].model_validate(
        {
            "type": "sql",
            "connection": "main",
            "statements": ["DELETE FROM items WHERE name = :n", "INSERT INTO nowhere VALUES (1)"],
            "params": {"n": "a"},
        }
    )
    with pytest.raises(ActionFailed, match="no such table: nowhere"):
        action.execute(action.render(renderer()), runtime(tmp_path, db))
    assert names(db) == ["a", "b"]


def test_a_sql_check_cannot_write_even_if_its_statement_does(tmp_path: Path, db: Path) -> None:
    check = CHECKS["sql"].model_validate(
        {"type": "sql", "connection": "main", "statement": "DELETE FROM items", "expect": 0}
    )
    rendered, expect = render_check(check, renderer())
    with pytest.raises(ActionFailed, match=r"readonly|read-only|attempt to write"):
        check.check(rendered, runtime(tmp_path, db), expect)
    assert names(db) == ["a", "b"]


def test_a_sql_check_compares_the_first_value_with_expect(tmp_path: Path, db: Path) -> None:
    check = CHECKS["sql"].model_validate(
        {
            "type": "sql",
            "connection": "main",
            "statement": "SELECT COUNT(*) FROM items",
            "expect": "{{ n }}",
        }
    )
    rendered, expect = render_check(check, renderer(n="2"))
    assert "holds when: result = '2'" in rendered.text
    assert check.check(rendered, runtime(tmp_path, db), expect).holds
    rendered, expect = render_check(check, renderer(n=3))
    assert not check.check(rendered, runtime(tmp_path, db), expect).holds
    bare = CHECKS["sql"].model_validate(
        {
            "type": "sql",
            "connection": "main",
            "statement": "SELECT COUNT(*) FROM items WHERE name = 'z'",
        }
    )
    rendered, expect = render_check(bare, renderer())
    assert expect is MISSING
    assert not bare.check(rendered, runtime(tmp_path, db), expect).holds


def test_sql_names_an_unknown_connection_and_a_missing_file(tmp_path: Path) -> None:
    action = ACTIONS["sql"].model_validate(
        {"type": "sql", "connection": "nope", "statement": "SELECT 1"}
    )
    with pytest.raises(ActionFailed, match=r"no connection named 'nope'.*known: main"):
        action.execute(action.render(renderer()), runtime(tmp_path, tmp_path / "missing.db"))
    known = ACTIONS["sql"].model_validate(
        {"type": "sql", "connection": "main", "statement": "SELECT 1"}
    )
    with pytest.raises(ActionFailed, match="does not exist"):
        known.execute(known.render(renderer()), runtime(tmp_path, tmp_path / "missing.db"))


def test_a_slow_sql_statement_is_interrupted_at_its_timeout(tmp_path: Path, db: Path) -> None:
    action = ACTIONS["sql"].model_validate(
        {
            "type": "sql",
            "connection": "main",
            "statement": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c",
        }
    )
    with pytest.raises(ActionTimedOut):
        action.execute(action.render(renderer()), runtime(tmp_path, db, timeout=0.2))


def test_a_command_argument_full_of_shell_syntax_stays_one_argument(tmp_path: Path) -> None:
    action = ACTIONS["command"].model_validate(
        {
            "type": "command",
            "argv": [
                sys.executable,
                "-c",
                "import json, sys; print(json.dumps(sys.argv[1:]))",
                "{{ v }}",
                "--day={{ v }}",
            ],
        }
    )
    value = "; rm -rf / && $(touch pwned) `id` | cat"
    rendered = action.render(renderer(v=value))
    result = action.execute(rendered, runtime(tmp_path))
    assert json.loads(result.output["stdout"]) == [value, f"--day={value}"]
    assert not (tmp_path / "pwned").exists()


def test_a_command_sees_the_step_key_fails_on_bad_exit_and_times_out(tmp_path: Path) -> None:
    show_key = ACTIONS["command"].model_validate(
        {
            "type": "command",
            "argv": [
                sys.executable,
                "-c",
                "import os; print(os.environ['ONCALL_IDEMPOTENCY_KEY'])",
            ],
        }
    )
    rendered = show_key.render(renderer(), key=lambda payload: "k-123")
    assert show_key.execute(rendered, runtime(tmp_path)).output["stdout"].strip() == "k-123"
    failing = ACTIONS["command"].model_validate(
        {"type": "command", "argv": [sys.executable, "-c", "import sys; sys.exit('boom')"]}
    )
    with pytest.raises(ActionFailed, match="exited 1: boom"):
        failing.execute(failing.render(renderer()), runtime(tmp_path))
    slow = ACTIONS["command"].model_validate(
        {"type": "command", "argv": [sys.executable, "-c", "import time; time.sleep(30)"]}
    )
    with pytest.raises(ActionTimedOut):
        slow.execute(slow.render(renderer()), runtime(tmp_path, timeout=0.3))
    missing = ACTIONS["command"].model_validate(
        {"type": "command", "argv": ["no-such-program-xyz"]}
    )
    with pytest.raises(ActionFailed, match="command not found"):
        missing.execute(missing.render(renderer()), runtime(tmp_path))


@respx.mock
def test_http_sends_the_step_key_as_idempotency_key(tmp_path: Path) -> None:
    route = respx.post("https://registry.example/models/demand%20x/rollback").mock(
        return_value=httpx.Response(200, json={"ok": True})
    )
    action = ACTIONS["http"].model_validate(
        {
            "type": "http",
            "method": "post",
            "url": "https://registry.example/models/{{ m }}/rollback",
            "json": {"to": "{{ v }}"},
        }
    )
    rendered = action.render(renderer(m="demand x", v=7), key=lambda payload: "key-abc")
    assert "Idempotency-Key: key-abc" in rendered.text
    result = action.execute(rendered, runtime(tmp_path))
    assert result.output == {"status": 200, "body": {"ok": True}}
    request = route.calls.last.request
    assert request.headers["Idempotency-Key"] == "key-abc"
    assert json.loads(request.content) == {"to": 7}


@respx.mock
def test_http_failure_and_check_by_field(tmp_path: Path) -> None:
    respx.get("https://svc.example/state").mock(
        return_value=httpx.Response(200, json={"alias": {"champion": "v3"}})
    )
    respx.post("https://svc.example/fail").mock(return_value=httpx.Response(503, text="down"))
    check = CHECKS["http"].model_validate(
        {
            "type": "http",
            "url": "https://svc.example/state",
            "field": "alias.champion",
            "expect": "v3",
        }
    )
    rendered, expect = render_check(check, renderer())
    assert check.check(rendered, runtime(tmp_path), expect).holds
    failing = ACTIONS["http"].model_validate(
        {"type": "http", "method": "POST", "url": "https://svc.example/fail"}
    )
    with pytest.raises(ActionFailed, match="answered 503: down"):
        failing.execute(failing.render(renderer()), runtime(tmp_path))


def test_manual_asks_the_operator_and_a_no_does_nothing(tmp_path: Path) -> None:
    action = ACTIONS["manual"].model_validate({"type": "manual", "instruction": "Look at {{ x }}"})
    rendered = action.render(renderer(x="the dashboard"))
    asked: list[str] = []

    def answer(no: bool):
        return lambda text: asked.append(text) or not no

    assert action.execute(rendered, runtime(tmp_path, confirm=answer(False))).output == {
        "confirmed": True
    }
    with pytest.raises(ActionDeclined):
        action.execute(rendered, runtime(tmp_path, confirm=answer(True)))
    assert asked == ["Look at the dashboard", "Look at the dashboard"]


@respx.mock
def test_notify_prints_without_a_webhook_and_posts_with_one(tmp_path: Path) -> None:
    action = ACTIONS["notify"].model_validate(
        {"type": "notify", "message": "rolled back {{ m }}", "to": ["user:default/ana"]}
    )
    said: list[str] = []
    rendered = action.render(renderer(m="demand-forecast"), key=lambda p: "nk")
    assert action.execute(rendered, runtime(tmp_path, say=said.append)).output == {
        "delivered": "printed"
    }
    assert said == ["NOTIFY [to user:default/ana]: rolled back demand-forecast"]
    route = respx.post("https://chat.example/hook").mock(return_value=httpx.Response(204))
    result = action.execute(
        rendered,
        runtime(tmp_path, notify_webhook="https://chat.example/hook", labels={"incident": "INC-1"}),
    )
    assert result.output["delivered"] == "webhook"
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "text": "rolled back demand-forecast",
        "to": ["user:default/ana"],
        "incident": "INC-1",
    }
    assert route.calls.last.request.headers["Idempotency-Key"] == "nk"


def test_sql_preview_reads_what_the_statements_would_change_and_changes_nothing(
    tmp_path: Path, db: Path
) -> None:
    action = ACTIONS["sql"].model_validate(
        {
            "type": "sql",
            "connection": "main",
            "statement": "DELETE FROM items WHERE name != :keep",
            "params": {"keep": "{{ keep }}"},
            "preview": "SELECT COUNT(*) AS rows, COUNT(DISTINCT name) AS names "
            "FROM items WHERE name != :keep",
        }
    )
    rendered = action.render(renderer(keep="a"))
    preview = action.preview(rendered, runtime(tmp_path, db))
    assert preview is not None
    assert (preview.text, preview.data) == ("1 rows, 1 names", {"rows": 1, "names": 1})
    assert names(db) == ["a", "b"]
    result = action.execute(rendered, runtime(tmp_path, db))
    assert result.changed == "1 row changed"
    assert names(db) == ["a"]
    without = ACTIONS["sql"].model_validate(
        {"type": "sql", "connection": "main", "statement": "DELETE FROM items"}
    )
    assert without.preview(without.render(renderer()), runtime(tmp_path, db)) is None


def test_sql_preview_is_read_only_and_its_binds_are_checked(tmp_path: Path, db: Path) -> None:
    sneaky = ACTIONS["sql"].model_validate(
        {
            "type": "sql",
            "connection": "main",
            "statement": "DELETE FROM items",
            "preview": "DELETE FROM items",
        }
    )
    with pytest.raises(ActionFailed, match="attempt to write a readonly database"):
        sneaky.preview(sneaky.render(renderer()), runtime(tmp_path, db))
    assert names(db) == ["a", "b"]
    with pytest.raises(ValueError, match="preview uses :who but 'params' does not give it"):
        ACTIONS["sql"].model_validate(
            {
                "type": "sql",
                "connection": "main",
                "statement": "DELETE FROM items",
                "preview": "SELECT COUNT(*) FROM items WHERE name = :who",
            }
        )
    with pytest.raises(ValueError, match="SQL statements are not templated"):
        ACTIONS["sql"].model_validate(
            {
                "type": "sql",
                "connection": "main",
                "statement": "DELETE FROM items",
                "preview": "SELECT '{{ x }}'",
            }
        )


def test_the_demo_delete_step_previews_the_rows_and_loads_it_deletes(demo: Any) -> None:
    from runbooks.schema import load_runbook

    book = load_runbook(demo.root / "runbooks" / "training-store-partial-load.yaml")
    step = book.spec.step("delete-partial")
    rendered = step.action.render(renderer(since=demo.since))
    rt = ActionRuntime(connections=demo.env.connections, workdir=demo.root)
    before = demo.db_bytes()
    preview = step.action.preview(rendered, rt)
    assert preview is not None
    (count,) = demo.query(
        "training.db",
        "SELECT COUNT(*) FROM samples WHERE load_id IN (SELECT id FROM loads WHERE status IN "
        "('partial', 'failed', 'running') AND started_at >= ?)",
        demo.since,
    )[0]
    assert count > 0
    assert preview.text == f"deletes {count} rows of 4 loads"
    assert demo.db_bytes() == before
