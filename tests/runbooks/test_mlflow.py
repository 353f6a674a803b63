"""The `mlflow` action against a real `mlflow server` (SQLite backend store) that `.ci/run`
starts; its URL comes from ONCALL_TEST_MLFLOW_URL (skip locally without it, fail under CI).

Each test registers its own model (a fresh name) with three versions, the champion on the bad
newest one, and drives the action as the engine does: render, preview, execute, check.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from runbooks.actions import (
    ACTIONS,
    CHECKS,
    MISSING,
    Action,
    ActionFailed,
    ActionRuntime,
    render_check,
)
from runbooks.actions.service import (
    REDACTED,
    CredentialMissing,
    ServiceRefused,
    ServiceUnavailable,
)
from runbooks.templating import Renderer, TemplateContext
from tests.conftest import MLFLOW_ENV, service_url
from tests.runbooks.flaky_proxy import closed_port_url, flaky_proxy

API = "/api/2.0/mlflow"


@pytest.fixture(scope="session")
def mlflow_url() -> str:
    return service_url(MLFLOW_ENV, "MLflow")


class Model:
    """A registered model made for one test, read back through the REST API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"churn-{uuid.uuid4().hex[:8]}"
        self.created: list[int] = []
        self.post("registered-models/create", {"name": self.name})
        for n in (1, 2, 3):
            tags = [{"key": "window", "value": "bad" if n == 3 else "ok"}]
            body = {"name": self.name, "source": f"s3://models/{self.name}/{n}", "tags": tags}
            mv = self.post("model-versions/create", body)["model_version"]
            self.created.append(int(mv["creation_timestamp"]))
            time.sleep(0.01)  # distinct creation times
        self.post(
            "registered-models/alias", {"name": self.name, "alias": "champion", "version": "3"}
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.url}{API}/{path}", json=body, timeout=30)
        response.raise_for_status()
        return dict(response.json())

    def aliases(self) -> dict[str, str]:
        response = httpx.get(
            f"{self.url}{API}/registered-models/get", params={"name": self.name}, timeout=30
        )
        response.raise_for_status()
        registered = response.json()["registered_model"]
        return {a["alias"]: a["version"] for a in registered.get("aliases", [])}

    def tags(self, version: int) -> dict[str, str]:
        response = httpx.get(
            f"{self.url}{API}/model-versions/get",
            params={"name": self.name, "version": str(version)},
            timeout=30,
        )
        response.raise_for_status()
        return {t["key"]: t["value"] for t in response.json()["model_version"].get("tags", [])}


@pytest.fixture
def model(mlflow_url: str) -> Model:
    return Model(mlflow_url)


def runtime(
    tmp_path: Path, url: str, *, credentials: dict[str, str] | None = None, timeout: float = 30
) -> ActionRuntime:
    return ActionRuntime(
        connections={"registry": url},
        credentials={"registry": credentials} if credentials else {},
        workdir=tmp_path,
        timeout=timeout,
    )


def action(kind: type[Action] | None = None, **fields: Any) -> Action:
    cls = kind or ACTIONS["mlflow"]
    return cls.model_validate({"type": "mlflow", "connection": "registry", **fields})


def render(act: Action, **params: Any) -> Any:
    return act.render(Renderer(TemplateContext(params=dict(params))))


def test_set_alias_previews_moves_the_champion_back_and_its_check_then_holds(
    tmp_path: Path, model: Model
) -> None:
    fields = {"operation": "set_alias", "model": model.name, "alias": "champion"}
    rollback = action(**fields, version="{{ good }}")
    rendered = render(rollback, good=2)
    assert rendered.text == (
        f"mlflow on connection 'registry': point alias 'champion' of model '{model.name}' "
        "at version 2"
    )
    rt = runtime(tmp_path, model.url)
    check_action = action(CHECKS["mlflow"], **fields, version="{{ good }}")
    shown, expect = render_check(check_action, Renderer(TemplateContext(params={"good": 2})))
    assert expect is MISSING
    before = check_action.check(shown, rt, expect)
    assert (before.holds, before.observed) == (False, "3")

    preview = rollback.preview(rendered, rt)
    assert preview is not None and preview.text == "champion: v3 → v2"
    assert model.aliases() == {"champion": "3"}  # a preview changes nothing

    result = rollback.execute(rendered, rt)
    assert result.changed == "champion: v3 → v2"
    assert result.output == {
        "model": model.name,
        "alias": "champion",
        "version": "2",
        "previous": "3",
    }
    assert model.aliases() == {"champion": "2"}
    after = check_action.check(shown, rt, expect)
    assert (after.holds, after.observed, after.detail) == (True, "2", "champion → v2")

    again = rollback.execute(rendered, rt)
    assert (again.effect_count, again.changed) == (0, "champion: already v2, nothing to change")
    assert rollback.preview(rendered, rt).text == "champion: already v2, nothing to change"  # type: ignore[union-attr]


def test_delete_alias_and_version_tags_report_what_changed_and_check_by_reading(
    tmp_path: Path, model: Model
) -> None:
    rt = runtime(tmp_path, model.url)
    tag = action(
        operation="set_version_tag",
        model=model.name,
        version="v3",
        key="quarantined",
        value="INC-7",
    )
    rendered = render(tag)
    assert rendered.payload["version"] == "3"
    assert tag.preview(rendered, rt).text == "v3 tag quarantined: (unset) → 'INC-7'"  # type: ignore[union-attr]
    assert tag.execute(rendered, rt).changed == "v3 tag quarantined: (unset) → 'INC-7'"
    assert model.tags(3) == {"window": "bad", "quarantined": "INC-7"}
    tag_check = action(
        CHECKS["mlflow"],
        operation="set_version_tag",
        model=model.name,
        version=3,
        key="quarantined",
        value="INC-7",
    )
    assert tag_check.check(render(tag_check), rt, MISSING).holds

    untag = action(operation="delete_version_tag", model=model.name, version=3, key="quarantined")
    assert untag.execute(render(untag), rt).changed == "v3 tag quarantined: 'INC-7' → (unset)"
    assert model.tags(3) == {"window": "bad"}
    assert not tag_check.check(render(tag_check), rt, MISSING).holds

    drop = action(operation="delete_alias", model=model.name, alias="champion")
    assert drop.preview(render(drop), rt).text == "champion: v3 → (none)"  # type: ignore[union-attr]
    assert drop.execute(render(drop), rt).changed == "champion: v3 → (none)"
    assert model.aliases() == {}
    again = drop.execute(render(drop), rt)
    assert (again.effect_count, again.changed) == (0, "champion: already (none), nothing to change")


def test_find_version_finds_the_last_version_created_before_a_time_or_with_tags(
    tmp_path: Path, model: Model
) -> None:
    rt = runtime(tmp_path, model.url)
    from datetime import UTC, datetime

    before_third = datetime.fromtimestamp(model.created[2] / 1000, UTC).isoformat()
    find = action(operation="find_version", model=model.name, created_before="{{ since }}")
    assert find.reads_only()
    found = find.execute(render(find, since=before_third), rt)
    assert found.output["version"] == "2" and found.effect_count == 0
    by_tag = action(operation="find_version", model=model.name, tags={"window": "bad"})
    assert by_tag.execute(render(by_tag), rt).output["version"] == "3"
    nothing = action(
        operation="find_version", model=model.name, created_before="2001-01-01T00:00:00Z"
    )
    assert nothing.execute(render(nothing), rt).output["version"] is None
    assert find.preview(render(find, since=before_third), rt) is None


def test_an_unknown_model_or_version_fails_with_mlflows_message_and_changes_nothing(
    tmp_path: Path, model: Model
) -> None:
    rt = runtime(tmp_path, model.url)
    missing_version = action(operation="set_alias", model=model.name, alias="champion", version=9)
    with pytest.raises(
        ServiceRefused, match=rf"Model Version \(name={model.name}, version=9\) not found"
    ):
        missing_version.preview(render(missing_version), rt)
    with pytest.raises(ServiceRefused, match="HTTP 404: RESOURCE_DOES_NOT_EXIST"):
        missing_version.execute(render(missing_version), rt)
    unknown = action(operation="set_alias", model="no-such-model", alias="champion", version=1)
    with pytest.raises(ServiceRefused, match="Registered Model with name=no-such-model not found"):
        unknown.execute(render(unknown), rt)
    assert model.aliases() == {"champion": "3"}


def test_a_service_that_is_down_is_retried_until_the_step_timeout_then_fails(
    tmp_path: Path,
) -> None:
    rollback = action(operation="set_alias", model="m", alias="champion", version=2)
    rt = runtime(tmp_path, closed_port_url(), timeout=1.5)
    with pytest.raises(ServiceUnavailable) as failed:
        rollback.execute(render(rollback), rt)
    message = str(failed.value)
    assert "within the step's timeout of 1.5s" in message
    assert "attempts; last: cannot connect" in message


def test_a_500_is_retried_with_backoff_and_the_credential_never_shows(
    tmp_path: Path, model: Model
) -> None:
    secret = tmp_path.parent / f"{tmp_path.name}-token"
    secret.write_text("s3cr3t-token-value\n", encoding="utf-8")
    rollback = action(operation="set_alias", model=model.name, alias="champion", version=2)
    with flaky_proxy(model.url, failures=2) as (url, seen):
        rt = runtime(tmp_path, url, credentials={"token_file": str(secret)})
        result = rollback.execute(render(rollback), rt)
    assert result.changed == "champion: v3 → v2"
    assert seen[:3] == [f"GET {API}/registered-models/get?name={model.name}"] * 3
    assert model.aliases() == {"champion": "2"}

    with flaky_proxy(model.url, failures=1000) as (url, seen):
        rt = runtime(tmp_path, url, credentials={"token_file": str(secret)}, timeout=1.0)
        with pytest.raises(ServiceUnavailable) as failed:
            rollback.execute(render(rollback), rt)
    message = str(failed.value)
    assert "HTTP 500: INTERNAL_ERROR: backend store unavailable (auth: Bearer " in message
    assert REDACTED in message and "s3cr3t" not in message
    assert len(seen) >= 2


def test_a_missing_credential_fails_before_any_request(tmp_path: Path, model: Model) -> None:
    rollback = action(operation="set_alias", model=model.name, alias="champion", version=2)
    rt = runtime(tmp_path, model.url, credentials={"token_env": "ONCALL_TEST_NO_SUCH_TOKEN"})
    with pytest.raises(CredentialMissing, match=r"\$ONCALL_TEST_NO_SUCH_TOKEN, which is not set"):
        rollback.execute(render(rollback), rt)
    inside = tmp_path / "token"
    inside.write_text("t", encoding="utf-8")
    rt = runtime(tmp_path, model.url, credentials={"token_file": str(inside)})
    with pytest.raises(CredentialMissing, match="is inside the workspace"):
        rollback.preview(render(rollback), rt)
    assert model.aliases() == {"champion": "3"}


def test_the_fields_each_operation_needs_are_checked_when_the_runbook_loads() -> None:
    with pytest.raises(ValueError, match="set_alias needs 'version'"):
        action(operation="set_alias", model="m", alias="champion")
    with pytest.raises(ValueError, match="delete_alias does not use 'version'"):
        action(operation="delete_alias", model="m", alias="champion", version=3)
    with pytest.raises(ValueError, match="version must be a model version number, not 'latest'"):
        action(operation="set_alias", model="m", alias="a", version="latest")
    templated = action(operation="set_alias", model="m", alias="a", version="{{ v }}")
    with pytest.raises(ActionFailed, match="version must be a model version number, not 'x'"):
        render(templated, v="x")
