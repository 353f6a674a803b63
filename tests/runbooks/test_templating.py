"""Templates see only params, asset, incident and steps; values are never rendered twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runbooks.templating import (
    AssetView,
    IncidentView,
    IsoDatetime,
    Renderer,
    StepView,
    TemplateContext,
    TemplateProblem,
)

EVIL = "'; DROP TABLE samples; -- $(rm -rf /) `id` {{ 7*7 }} {% raw %}"


def renderer(**params: object) -> Renderer:
    return Renderer(
        TemplateContext(
            params=dict(params),
            asset=AssetView("resource:default/training-db", "resource", "default", "training-db"),
            incident=IncidentView("INC-1", "partial loads", "SEV1", "open", None),
            steps={"count-source": StepView("done", {"rows": [[42]]})},
        )
    )


def test_a_value_with_template_sql_and_shell_syntax_is_inserted_verbatim() -> None:
    r = renderer(note=EVIL)
    assert r.text("note: {{ note }}", field_name="f") == f"note: {EVIL}"
    assert r.value("{{ params.note }}", field_name="f") == EVIL


def test_a_whole_expression_keeps_its_type_and_datetimes_become_iso_text() -> None:
    since = IsoDatetime.of(datetime(2024, 6, 8, 2, 0, tzinfo=UTC))
    r = renderer(n=3, since=since)
    assert r.value("{{ n }}", field_name="f") == 3
    assert r.value("{{ since }}", field_name="f") == "2024-06-08T02:00:00+00:00"
    assert r.text("since {{ since }}", field_name="f") == "since 2024-06-08T02:00:00+00:00"
    assert r.value({"a": ["{{ n + 1 }}", "x{{ n }}"]}, field_name="f") == {"a": [4, "x3"]}


def test_asset_incident_and_step_outputs_are_visible() -> None:
    r = renderer()
    assert r.text("{{ asset }} {{ asset.name }} {{ incident.id }}", field_name="f") == (
        "resource:default/training-db training-db INC-1"
    )
    assert r.value("{{ steps['count-source'].output.rows[0][0] }}", field_name="f") == 42
    assert r.value("{{ steps.count_source.status }}", field_name="f") == "done"


def test_an_undefined_name_is_an_error_naming_the_field() -> None:
    with pytest.raises(TemplateProblem, match=r"params.since: 'since' is undefined"):
        renderer().value("{{ since }}", field_name="params.since")


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ asset.__class__ }}",
        "{{ incident.__init__.__globals__ }}",
        "{{ params.update({'x': 1}) }}",
    ],
)
def test_the_sandbox_refuses_reaching_python_internals(template: str) -> None:
    with pytest.raises(TemplateProblem, match=r"forbidden|cannot|undefined"):
        renderer().text(template, field_name="f")


def test_values_in_a_url_are_percent_encoded_so_they_stay_one_part() -> None:
    r = renderer(model="demand/../../admin?x=1#frag")
    url = r.url("https://registry/models/{{ model }}/rollback", field_name="url")
    assert url == "https://registry/models/demand%2F..%2F..%2Fadmin%3Fx%3D1%23frag/rollback"
