"""oncall.toml: every key read with its type checked, every mistake named with the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from workspace.config import WorkspaceConfig, read_config
from workspace.discovery import open_workspace
from workspace.errors import WorkspaceError
from workspace.model import Workspace


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "oncall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _config(tmp_path, text)
    with pytest.raises(WorkspaceError) as raised:
        read_config(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def test_every_key_is_read_as_written(tmp_path: Path) -> None:
    config = read_config(
        _config(
            tmp_path,
            'name = "ml-platform"\ndatabase_url = "sqlite:///state.db"\n'
            'catalog = ["catalog", "more"]\nlineage = []\nrunbooks = "rb"\n'
            'notify_webhook = "https://hooks.example/x"\n'
            '[connections]\nops_db = "sqlite:///ops.db"\n[operators]\nroot = "user:ana.lima"\n',
        )
    )
    assert config == WorkspaceConfig(
        name="ml-platform",
        database_url="sqlite:///state.db",
        catalog=["catalog", "more"],
        lineage=[],
        runbooks="rb",
        connections={"ops_db": "sqlite:///ops.db"},
        operators={"root": "user:ana.lima"},
        notify_webhook="https://hooks.example/x",
        given=frozenset(
            {"name", "database_url", "catalog", "lineage", "runbooks", "connections",
             "operators", "notify_webhook"}
        ),
    )  # fmt: skip


def test_an_empty_file_gives_the_defaults_and_sets_no_key(tmp_path: Path) -> None:
    config = read_config(_config(tmp_path, ""))
    assert config == WorkspaceConfig()
    assert (config.name, config.catalog, config.lineage, config.runbooks) == (
        "workspace",
        ["catalog"],
        ["lineage"],
        "runbooks",
    )
    assert config.given == frozenset()


def test_an_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    assert _error(tmp_path, 'nmae = "x"') == "unknown key 'nmae' (did you mean 'name'?)"
    assert (
        _error(tmp_path, 'catalogs = ["c"]') == "unknown key 'catalogs' (did you mean 'catalog'?)"
    )
    assert _error(tmp_path, "zzz = 1") == "unknown key 'zzz'", "nothing close: no guess"
    assert _error(tmp_path, '[intake]\ntoken_fil = "t"') == (
        "unknown key 'intake.token_fil' (did you mean 'token_file'?) (known: token_file)"
    )


def test_a_string_key_with_another_type_is_an_error_naming_key_and_type(tmp_path: Path) -> None:
    assert _error(tmp_path, "name = 3") == "name: must be a string, not an integer"
    assert (
        _error(tmp_path, "database_url = true") == "database_url: must be a string, not a boolean"
    )
    assert _error(tmp_path, "notify_webhook = 1.5") == (
        "notify_webhook: must be a string, not a float"
    )
    assert _error(tmp_path, 'runbooks = ["a"]') == "runbooks: must be a string, not an array"
    assert _error(tmp_path, "name = 1979-05-27") == "name: must be a string, not a date or time"


def test_a_list_key_that_is_not_a_list_of_strings_names_the_item_at_fault(tmp_path: Path) -> None:
    assert _error(tmp_path, 'catalog = "catalog"') == (
        "catalog: must be a list of strings, not a string"
    )
    assert (
        _error(tmp_path, '[lineage]\nx = "y"') == "lineage: must be a list of strings, not a table"
    )
    assert _error(tmp_path, 'catalog = ["a", 2, "c", ["d"]]') == (
        "catalog[1]: must be a string, not an integer; catalog[3]: must be a string, not an array"
    )


def test_a_table_key_that_is_not_a_table_of_strings_names_the_entry_at_fault(
    tmp_path: Path,
) -> None:
    assert _error(tmp_path, 'connections = "x"') == (
        "connections: must be a table of URLs or connection tables, not a string"
    )
    assert _error(tmp_path, '[connections]\na = 1\nb = "ok"\n[connections.c]\nd = "e"') == (
        "connections.a: must be a URL string or a table, not an integer; connections.c: unknown "
        "key 'd' (known: url, token_env, token_file, username, password_env, password_file, "
        "api_version); connections.c: missing 'url'"
    )
    assert _error(tmp_path, "[operators]\nroot = 1") == (
        "operators.root: must be a string, not an integer"
    )


def test_a_connection_table_names_its_url_and_where_the_credential_comes_from(
    tmp_path: Path,
) -> None:
    config = read_config(
        _config(
            tmp_path,
            '[connections]\nops = "sqlite:///ops.db"\n'
            '[connections.registry]\nurl = "http://mlflow:5000"\ntoken_env = "MLFLOW_TOKEN"\n'
            '[connections.airflow]\nurl = "http://airflow:8080"\nusername = "oncall"\n'
            'password_file = "/run/secrets/airflow"\n'
            '[connections.airflow2]\nurl = "http://airflow2:8080"\napi_version = "v1"\n',
        )
    )
    assert config.connections == {
        "ops": "sqlite:///ops.db",
        "registry": "http://mlflow:5000",
        "airflow": "http://airflow:8080",
        "airflow2": "http://airflow2:8080",
    }
    assert config.connection_credentials == {
        "registry": {"token_env": "MLFLOW_TOKEN"},
        "airflow": {"username": "oncall", "password_file": "/run/secrets/airflow"},
        "airflow2": {"api_version": "v1"},
    }
    workspace = Workspace(tmp_path.resolve(), config)
    assert workspace.credentials == config.connection_credentials


def test_a_connection_table_refuses_a_credential_written_in_it_and_half_given_sources(
    tmp_path: Path,
) -> None:
    assert _error(tmp_path, '[connections.a]\nurl = "http://a"\npassword = "hunter2"\n') == (
        "connections.a.password: a credential is "
        "never written in oncall.toml; name where it comes from with 'password_env' or "
        "'password_file'"
    )
    assert _error(
        tmp_path,
        '[connections.a]\nurl = "http://a"\ntoken_env = "T"\ntoken_file = "/t"\n'
        '[connections.b]\nurl = 5\nusername = "u"\n',
    ) == (
        "connections.a: give 'token_env' or 'token_file', not both; connections.b.url: must be "
        "a string, not an integer; connections.b: 'username' needs 'password_env' or "
        "'password_file'"
    )


def test_a_connection_api_version_is_v1_or_v2(tmp_path: Path) -> None:
    assert _error(tmp_path, '[connections.a]\nurl = "http://a"\napi_version = "2"\n') == (
        'connections.a.api_version: must be "v1" (Airflow 2) or "v2" (Airflow 3), not \'2\''
    )
    assert _error(tmp_path, '[connections.a]\nurl = "http://a"\napi_version = 2\n') == (
        "connections.a.api_version: must be a string, not an integer"
    )


def test_every_problem_is_reported_at_once_type_errors_first(tmp_path: Path) -> None:
    assert _error(tmp_path, 'nmae = "x"\nbogus = 1\nname = 3') == (
        "name: must be a string, not an integer; unknown key 'nmae' (did you mean 'name'?); "
        "unknown key 'bogus'"
    )


def test_a_file_that_is_not_toml_or_not_text_is_an_error_naming_it(tmp_path: Path) -> None:
    assert _error(tmp_path, "name = ").startswith("invalid TOML: ")
    path = tmp_path / "oncall.toml"
    path.write_bytes(b'name = "\xff"')
    with pytest.raises(WorkspaceError, match=r"oncall\.toml: not UTF-8 text"):
        read_config(path)
    with pytest.raises(WorkspaceError, match="no such file"):
        read_config(tmp_path / "missing.toml")


def test_a_named_folder_is_kept_but_a_missing_default_folder_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    _config(tmp_path, 'lineage = ["events"]')
    workspace = open_workspace(tmp_path)
    assert workspace.catalog_paths == [tmp_path.resolve() / "catalog"]
    assert workspace.lineage_paths == [tmp_path.resolve() / "events"]  # named: must exist

    _config(tmp_path, "")
    assert open_workspace(tmp_path).lineage_paths == []  # default, absent: not asked for


def test_a_relative_sqlite_url_is_taken_from_the_workspace_root(tmp_path: Path) -> None:
    _config(
        tmp_path, 'database_url = "sqlite:///state/x.db"\n[connections]\nops = "sqlite:///ops.db"'
    )
    workspace = open_workspace(tmp_path)
    assert workspace.database_url == f"sqlite:///{tmp_path.resolve() / 'state' / 'x.db'}"
    assert workspace.connections == {"ops": f"sqlite:///{tmp_path.resolve() / 'ops.db'}"}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('name = "x"\ncatalog = ["catalog"\nlineage = ["lineage"]\n', 2),
        ('catalog = ["a",\n  "b",  # the second\n\n[connections]\nx = "y"\n', 1),
        ('name = "x"\nrunbooks = "r"\nlineage = ["l", "]"', 3),
    ],
    ids=["before-a-key", "before-a-table", "at-the-end"],
)
def test_an_unclosed_array_names_the_line_it_opened_on(
    tmp_path: Path, text: str, line: int
) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(WorkspaceError) as raised:
        read_config(path)
    key = text.splitlines()[line - 1].split("=")[0].strip()
    assert str(raised.value) == (
        f"{path}:{line}: invalid TOML: the array of {key!r} opened on line {line} "
        "is not closed (a ']' is missing)"
    )


def test_other_toml_mistakes_keep_tomllib_s_own_words(tmp_path: Path) -> None:
    assert _error(tmp_path, 'name = "x').startswith("invalid TOML: ")
    assert "array" not in _error(tmp_path, 'catalog = ["a"]\nname = ').split("(")[0]
