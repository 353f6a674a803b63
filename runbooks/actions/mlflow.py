"""`mlflow`: the model registry's aliases and version tags, through MLflow's REST API 2.0.

An ML rollback is "point the champion alias back at a good version, tag the bad one": a few
calls that every team otherwise writes as raw `http` steps with no check and no preview. Here
each operation knows the state it wants, so the same fields serve as the step's `check:` (skip
when the alias already points there), its `verify:`, and its preview ("champion: v5 → v4"),
all read with GET only. `find_version` only reads: it finds "the last version trained before the
bad window" for a later step (`{{ steps.find.output.version }}`).

Endpoints (MLflow 2.x and 3.x): `registered-models/get` (its `aliases`), `registered-models/alias`
(POST sets, DELETE removes), `model-versions/get`, `model-versions/set-tag`, `delete-tag`, and
`model-versions/search`. Both deletes are no-ops on the server when nothing is set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from runbooks.actions.base import (
    MISSING,
    Action,
    ActionFailed,
    ActionResult,
    ActionRuntime,
    CheckResult,
    KeyFunction,
    Preview,
    RenderedAction,
    expectation_met,
)
from runbooks.actions.service import ServiceClient, check_operation_fields
from runbooks.templating import Renderer, is_templated

API = "/api/2.0/mlflow"
Operation = Literal[
    "set_alias", "delete_alias", "set_version_tag", "delete_version_tag", "find_version"
]

#: The fields each operation needs, and the optional ones it accepts.
NEEDS: dict[str, tuple[str, ...]] = {
    "set_alias": ("alias", "version"),
    "delete_alias": ("alias",),
    "set_version_tag": ("version", "key", "value"),
    "delete_version_tag": ("version", "key"),
    "find_version": (),
}
ACCEPTS: dict[str, tuple[str, ...]] = {"find_version": ("created_before", "tags")}
OPTIONAL_FIELDS = ("alias", "version", "key", "value", "created_before", "tags")
SEARCH_PAGE = 200


class MlflowAction(Action):
    """`{type: mlflow, connection: registry, operation: set_alias, model: churn, alias:
    champion, version: 4}`; also `delete_alias`, `set_version_tag` / `delete_version_tag`
    (`version`, `key`, `value`) and the read-only `find_version` (`created_before`, `tags`)."""

    type_name: ClassVar[str] = "mlflow"
    checkable: ClassVar[bool] = True

    type: Literal["mlflow"]
    connection: str = Field(min_length=1)
    operation: Operation
    model: str = Field(min_length=1)
    alias: str | None = None
    version: str | int | None = None
    key: str | None = None
    value: str | None = None
    created_before: str | None = None
    tags: dict[str, str] | None = None

    @model_validator(mode="after")
    def _fields_of_the_operation(self) -> MlflowAction:
        check_operation_fields(self, self.operation, NEEDS, ACCEPTS, OPTIONAL_FIELDS)
        if self.version is not None and not is_templated(str(self.version)):
            _version(self.version, error=ValueError)
        return self

    def reads_only(self) -> bool:
        return self.operation == "find_version"

    # -- render --------------------------------------------------------------------------------

    def render(self, renderer: Renderer, key: KeyFunction | None = None) -> RenderedAction:
        payload: dict[str, Any] = {
            "connection": self.connection,
            "operation": self.operation,
            "model": renderer.text(self.model, field_name="model"),
        }
        if self.alias is not None:
            payload["alias"] = renderer.text(self.alias, field_name="alias")
        if self.version is not None:
            payload["version"] = _version(renderer.value(self.version, field_name="version"))
        if self.key is not None:
            payload["key"] = renderer.text(self.key, field_name="key")
        if self.value is not None:
            payload["value"] = str(renderer.value(self.value, field_name="value"))
        if self.created_before is not None:
            when = renderer.value(self.created_before, field_name="created_before")
            payload["created_before"] = _instant(when).isoformat()
        if self.tags:
            payload["tags"] = {
                k: str(renderer.value(v, field_name=f"tags.{k}")) for k, v in self.tags.items()
            }
        step_key = key(payload) if key else None
        return RenderedAction("mlflow", _describe(payload), payload, step_key)

    # -- effect, preview, check ----------------------------------------------------------------

    def execute(self, rendered: RenderedAction, runtime: ActionRuntime) -> ActionResult:
        p = rendered.payload
        registry = Registry(ServiceClient("MLflow", p["connection"], runtime))
        op, model = p["operation"], p["model"]
        if op == "find_version":
            found = registry.find_version(model, p.get("created_before"), p.get("tags") or {})
            return ActionResult(found, effect_count=0, changed=None)
        if op in ("set_alias", "delete_alias"):
            alias = p["alias"]
            before = registry.aliases(model).get(alias)
            if op == "set_alias":
                registry.set_alias(model, alias, p["version"])
                after: str | None = p["version"]
            else:
                if before is not None:
                    registry.delete_alias(model, alias)
                after = None
            output = {"model": model, "alias": alias, "version": after, "previous": before}
            return ActionResult(
                output,
                effect_count=int(before != after),
                changed=_alias_change(alias, before, after),
            )
        version, tag = p["version"], p["key"]
        old = registry.version_tags(model, version).get(tag)
        if op == "set_version_tag":
            registry.set_version_tag(model, version, tag, p["value"])
            new: str | None = p["value"]
        else:
            if old is not None:
                registry.delete_version_tag(model, version, tag)
            new = None
        output = {"model": model, "version": version, "key": tag, "value": new, "previous": old}
        return ActionResult(
            output, effect_count=int(old != new), changed=_tag_change(version, tag, old, new)
        )

    def preview(self, rendered: RenderedAction, runtime: ActionRuntime) -> Preview | None:
        p = rendered.payload
        op = p["operation"]
        if op == "find_version":
            return None
        registry = Registry(ServiceClient("MLflow", p["connection"], runtime))
        if op in ("set_alias", "delete_alias"):
            before = registry.aliases(p["model"]).get(p["alias"])
            if op == "set_alias":
                registry.require_version(p["model"], p["version"])
            after = p.get("version") if op == "set_alias" else None
            return Preview(
                _alias_change(p["alias"], before, after),
                {"model": p["model"], "alias": p["alias"], "from": before, "to": after},
            )
        old = registry.version_tags(p["model"], p["version"]).get(p["key"])
        new = p.get("value") if op == "set_version_tag" else None
        return Preview(
            _tag_change(p["version"], p["key"], old, new),
            {"model": p["model"], "version": p["version"], "key": p["key"], "from": old, "to": new},
        )

    def check(self, rendered: RenderedAction, runtime: ActionRuntime, expect: Any) -> CheckResult:
        """Whether the operation's state holds: the alias points at the version (or is gone),
        the tag has the value (or is gone); `find_version` holds when it finds one."""
        p = rendered.payload
        registry = Registry(ServiceClient("MLflow", p["connection"], runtime))
        op, model = p["operation"], p["model"]
        if op == "find_version":
            found = registry.find_version(model, p.get("created_before"), p.get("tags") or {})
            observed: Any = found["version"]
            holds = expectation_met(observed, expect) if observed is not None else False
            return CheckResult(holds, observed, f"newest matching version: {observed or 'none'}")
        if op in ("set_alias", "delete_alias"):
            observed = registry.aliases(model).get(p["alias"])
            wanted = p.get("version")
            detail = f"{p['alias']} → {_v(observed)}"
        else:
            observed = registry.version_tags(model, p["version"]).get(p["key"])
            wanted = p.get("value")
            detail = f"v{p['version']} tag {p['key']} = {observed if observed is not None else '(unset)'}"
        holds = observed == wanted if expect is MISSING else expectation_met(observed, expect)
        return CheckResult(holds, observed, detail)


class Registry:
    """The registry calls the operations need, each one request."""

    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    def aliases(self, model: str) -> dict[str, str]:
        """Alias → version of a registered model (an unknown model is the service's 404)."""
        reply = self.client.call("GET", f"{API}/registered-models/get", params={"name": model})
        registered = reply.json().get("registered_model", {})
        return {a["alias"]: str(a["version"]) for a in registered.get("aliases", [])}

    def require_version(self, model: str, version: str) -> dict[str, Any]:
        reply = self.client.call(
            "GET", f"{API}/model-versions/get", params={"name": model, "version": version}
        )
        return dict(reply.json().get("model_version", {}))

    def version_tags(self, model: str, version: str) -> dict[str, str]:
        found = self.require_version(model, version)
        return {t["key"]: t.get("value", "") for t in found.get("tags", [])}

    def set_alias(self, model: str, alias: str, version: str) -> None:
        body = {"name": model, "alias": alias, "version": version}
        self.client.call("POST", f"{API}/registered-models/alias", json=body)

    def delete_alias(self, model: str, alias: str) -> None:
        body = {"name": model, "alias": alias}
        self.client.call("DELETE", f"{API}/registered-models/alias", json=body)

    def set_version_tag(self, model: str, version: str, key: str, value: str) -> None:
        body = {"name": model, "version": version, "key": key, "value": value}
        self.client.call("POST", f"{API}/model-versions/set-tag", json=body)

    def delete_version_tag(self, model: str, version: str, key: str) -> None:
        body = {"name": model, "version": version, "key": key}
        self.client.call("DELETE", f"{API}/model-versions/delete-tag", json=body)

    def find_version(
        self, model: str, created_before: str | None, tags: dict[str, str]
    ) -> dict[str, Any]:
        """The newest version created before `created_before` whose tags include `tags`."""
        self.aliases(model)  # an unknown model is an error, not "no version found"
        limit = _instant(created_before) if created_before else None
        best: dict[str, Any] | None = None
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "filter": f"name = {_sql_text(model)}",
                "max_results": SEARCH_PAGE,
            }
            if token:
                params["page_token"] = token
            reply = self.client.call("GET", f"{API}/model-versions/search", params=params)
            body = reply.json()
            for mv in body.get("model_versions", []):
                created = int(mv.get("creation_timestamp") or 0)
                if limit is not None and created >= limit.timestamp() * 1000:
                    continue
                mv_tags = {t["key"]: t.get("value", "") for t in mv.get("tags", [])}
                if any(mv_tags.get(k) != v for k, v in tags.items()):
                    continue
                if best is None or int(mv["version"]) > int(best["version"]):
                    best = mv
            token = body.get("next_page_token")
            if not token:
                break
        if best is None:
            return {"model": model, "version": None, "created": None, "run_id": None}
        created_at = datetime.fromtimestamp(int(best["creation_timestamp"]) / 1000, UTC)
        return {
            "model": model,
            "version": str(best["version"]),
            "created": created_at.isoformat(),
            "run_id": best.get("run_id") or None,
        }


def _version(value: Any, error: type[Exception] = ActionFailed) -> str:
    """A version number as MLflow spells it ("4"); `v4` and 4 are accepted."""
    text = str(value).strip().removeprefix("v")
    if not text.isdigit() or int(text) < 1:
        raise error(f"version must be a model version number, not {value!r}")
    return str(int(text))


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ActionFailed(f"created_before must be an ISO 8601 time, not {value!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _sql_text(value: str) -> str:
    """A quoted literal for MLflow's search filter, which has no escape for quotes."""
    if "'" in value and '"' in value:
        raise ActionFailed(f"model name {value!r} holds both quote kinds; MLflow cannot search it")
    return f'"{value}"' if "'" in value else f"'{value}'"


def _v(version: str | None) -> str:
    return f"v{version}" if version is not None else "(none)"


def _alias_change(alias: str, before: str | None, after: str | None) -> str:
    if before == after:
        return f"{alias}: already {_v(after)}, nothing to change"
    return f"{alias}: {_v(before)} → {_v(after)}"


def _tag_change(version: str, key: str, old: str | None, new: str | None) -> str:
    shown_old = repr(old) if old is not None else "(unset)"
    shown_new = repr(new) if new is not None else "(unset)"
    if old == new:
        return f"v{version} tag {key}: already {shown_new}, nothing to change"
    return f"v{version} tag {key}: {shown_old} → {shown_new}"


def _describe(p: dict[str, Any]) -> str:
    head = f"mlflow on connection {p['connection']!r}: "
    model, op = p["model"], p["operation"]
    if op == "set_alias":
        return head + f"point alias {p['alias']!r} of model {model!r} at version {p['version']}"
    if op == "delete_alias":
        return head + f"remove alias {p['alias']!r} from model {model!r}"
    if op == "set_version_tag":
        return head + (
            f"set tag {p['key']}={p['value']!r} on version {p['version']} of model {model!r}"
        )
    if op == "delete_version_tag":
        return head + f"remove tag {p['key']!r} from version {p['version']} of model {model!r}"
    text = head + f"find the newest version of model {model!r}"
    if "created_before" in p:
        text += f" created before {p['created_before']}"
    if p.get("tags"):
        text += " tagged " + ", ".join(f"{k}={v!r}" for k, v in sorted(p["tags"].items()))
    return text
