from __future__ import annotations

import pytest

from incidents.errors import IllegalTransition, InvalidValue
from incidents.lifecycle import (
    check_kind,
    normalise_incident_id,
    normalise_run_id,
    normalise_severity,
    stages_reached,
)


@pytest.mark.parametrize("typed", ["INC-7", "inc-7", "inc7", "7", " INC-007 "])
def test_an_incident_id_is_accepted_the_way_a_tired_operator_types_it(typed: str) -> None:
    assert normalise_incident_id(typed) == "INC-7"


@pytest.mark.parametrize("typed", ["", "INC-", "RUN-7", "seven", "INC-7x"])
def test_something_that_is_not_an_incident_id_is_refused(typed: str) -> None:
    with pytest.raises(InvalidValue, match="not an incident id"):
        normalise_incident_id(typed)


def test_a_run_id_is_not_taken_for_an_incident_id() -> None:
    assert normalise_run_id("run-3") == "RUN-3"
    with pytest.raises(InvalidValue):
        normalise_run_id("INC-3")


@pytest.mark.parametrize(("typed", "expected"), [("SEV1", "SEV1"), ("sev3", "SEV3"), ("4", "SEV4")])
def test_severities_are_normalised(typed: str, expected: str) -> None:
    assert normalise_severity(typed) == expected


@pytest.mark.parametrize("typed", ["SEV0", "SEV5", "high", ""])
def test_an_unknown_severity_names_the_valid_ones(typed: str) -> None:
    with pytest.raises(InvalidValue, match="SEV1, SEV2, SEV3, SEV4"):
        normalise_severity(typed)


def test_moving_forward_one_stage_reaches_only_that_stage() -> None:
    assert stages_reached("INC-1", "open", "acknowledged") == ["acknowledged"]


def test_skipping_forward_reaches_every_stage_in_between() -> None:
    assert stages_reached("INC-1", "open", "resolved") == ["acknowledged", "mitigated", "resolved"]


@pytest.mark.parametrize(
    ("current", "target"),
    [("acknowledged", "open"), ("resolved", "mitigated"), ("mitigated", "mitigated")],
)
def test_backwards_or_standing_still_is_an_illegal_transition(current: str, target: str) -> None:
    with pytest.raises(IllegalTransition, match=f"INC-1 cannot become {target}"):
        stages_reached("INC-1", current, target)


def test_an_unknown_event_kind_is_refused() -> None:
    assert check_kind("step_done") == "step_done"
    with pytest.raises(InvalidValue, match="unknown event kind 'comment'"):
        check_kind("comment")
