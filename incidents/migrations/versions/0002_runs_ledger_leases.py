"""Runbook runs, the step idempotency ledger, and asset leases (used by `runbooks`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.Integer))
    op.bulk_insert(counters, [{"name": "run", "value": 0}])
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=True),
        sa.Column("runbook_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("operator", sa.Text(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint("number", name="uq_runs_number"),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_runs_incident_id_incidents"
        ),
    )
    op.create_index("ix_runs_incident_id", "runs", ["incident_id"])
    op.create_table(
        "step_ledger",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=True),
        sa.Column("step_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rendered", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("effect_count", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_step_ledger"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_step_ledger_run_id_runs"),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_step_ledger_incident_id_incidents"
        ),
    )
    op.create_index("ix_step_ledger_run_id", "step_ledger", ["run_id"])
    op.create_table(
        "leases",
        sa.Column("asset", sa.String(255), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("asset", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index("ix_step_ledger_run_id", table_name="step_ledger")
    op.drop_table("step_ledger")
    op.drop_index("ix_runs_incident_id", table_name="runs")
    op.drop_table("runs")
    op.execute("DELETE FROM counters WHERE name = 'run'")
