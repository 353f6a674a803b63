"""A hand-made draft for renderer tests that need no database or catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postmortems.metrics import AlertFact, compute_metrics, find_moments, impact_duration
from postmortems.model import (
    ActionItem,
    AffectedAsset,
    AssetGroup,
    ChainCheck,
    Detection,
    Impact,
    IncidentFacts,
    PostmortemDraft,
    Prompt,
    RunSummary,
    StepOutcome,
    TimelineRow,
)

T0 = datetime(2024, 5, 4, 3, 0, tzinfo=UTC)
TRAINING_DB = "resource:default/training-db"
FORECAST = "component:default/demand-forecast"


def sample_draft(
    timeline: tuple[TimelineRow, ...] | None = None, chain_ok: bool = True
) -> PostmortemDraft:
    moments = find_moments(
        T0,
        T0 + timedelta(minutes=5),
        T0 + timedelta(hours=3),
        None,
        [AlertFact(T0 + timedelta(seconds=1), {"started_at": "2024-05-04T01:10:00Z"})],
    )
    source = AffectedAsset(
        TRAINING_DB,
        "training-db",
        "Training DB",
        "training-store",
        0,
        (TRAINING_DB,),
        "group:default/ml-data",
        "ML Data",
    )
    model = AffectedAsset(
        FORECAST, "demand-forecast", None, "model", 1, (TRAINING_DB, FORECAST), None, None
    )
    rows = (
        timeline
        if timeline is not None
        else (
            TimelineRow(1, T0, "user:default/alice", "status", "opened: partial loads"),
            TimelineRow(2, T0 + timedelta(seconds=1), "alertmanager", "alert", "load 4 failed"),
            TimelineRow(
                3, T0 + timedelta(minutes=2), "user:default/bob", "note", "saw | 4 loads\n`x`"
            ),
        )
    )
    return PostmortemDraft(
        incident=IncidentFacts(
            "INC-1",
            "Training DB | partial loads",
            "SEV1",
            "mitigated",
            TRAINING_DB,
            "Training DB",
            "user:default/alice",
            T0,
            moments.acknowledged_at,
            moments.mitigated_at,
            None,
        ),
        generated_at=T0 + timedelta(days=1),
        summary=("SEV1 incident INC-1 on Training DB.",),
        impact=Impact(
            source,
            None,
            (AssetGroup("model", "Models", (model,)),),
            1,
            (FORECAST,),
            (),
            impact_duration(moments, T0 + timedelta(days=1)),
        ),
        timeline=rows,
        detection=Detection(
            T0,
            "load 4 failed",
            "alertmanager",
            1,
            moments.acknowledged_at,
            "user:default/alice",
            (),
        ),
        runs=(
            RunSummary(
                "RUN-1",
                "training-store-partial-load",
                3,
                "user:default/alice",
                "done",
                False,
                {"asset": TRAINING_DB},
                (
                    StepOutcome(
                        "pause-etl", "Pause the ETL", "done", "user:default/alice", T0, None
                    ),
                    StepOutcome(
                        "delete-partial",
                        "Delete",
                        "failed",
                        "user:default/alice",
                        T0,
                        "locked | retry",
                    ),
                ),
            ),
        ),
        metrics=compute_metrics(moments),
        root_cause=(Prompt("Trigger", "What changed?"),),
        lessons=(Prompt("What went well", "Which tools helped?"),),
        action_items=(
            ActionItem(
                "failed-step",
                "Find out why step delete-partial failed",
                TRAINING_DB,
                "group:default/ml-data",
                "owner of training-db",
                "RUN-1",
            ),
        ),
        chain=ChainCheck(
            chain_ok, len(rows), None if chain_ok else 2, None if chain_ok else "altered"
        ),
    )
