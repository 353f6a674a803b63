"""OpenLineage run history: runs, their events, what they read and wrote, files already recorded.

Revision ID: 0004
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "lineage_runs",
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("job_namespace", sa.Text(), nullable=False),
        sa.Column("job_name", sa.Text(), nullable=False),
        sa.Column("parent_run_id", sa.String(255), nullable=True),
        sa.Column("parent_job_namespace", sa.Text(), nullable=True),
        sa.Column("parent_job_name", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_lineage_runs"),
    )
    op.create_index("ix_lineage_runs_last_event_at", "lineage_runs", ["last_event_at"])
    op.create_table(
        "lineage_run_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(16), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_run_events"),
        sa.UniqueConstraint(
            "run_id",
            "event_type",
            "event_time",
            name="uq_lineage_run_events_run_id_event_type_event_time",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["lineage_runs.run_id"], name="fk_lineage_run_events_run_id_lineage_runs"
        ),
    )
    op.create_table(
        "lineage_run_datasets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_run_datasets"),
        sa.UniqueConstraint(
            "run_id",
            "direction",
            "namespace",
            "name",
            name="uq_lineage_run_datasets_run_id_direction_namespace_name",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["lineage_runs.run_id"],
            name="fk_lineage_run_datasets_run_id_lineage_runs",
        ),
    )
    op.create_index(
        "ix_lineage_run_datasets_namespace",
        "lineage_run_datasets",
        ["namespace", "name", "direction"],
    )
    op.create_table(
        "lineage_sources",
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("path", name="pk_lineage_sources"),
    )


def downgrade() -> None:
    op.drop_table("lineage_sources")
    op.drop_index("ix_lineage_run_datasets_namespace", table_name="lineage_run_datasets")
    op.drop_table("lineage_run_datasets")
    op.drop_table("lineage_run_events")
    op.drop_index("ix_lineage_runs_last_event_at", table_name="lineage_runs")
    op.drop_table("lineage_runs")
