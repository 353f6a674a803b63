"""Alert receipts: one row per (fingerprint, state, start) an intake has recorded.

The unique key is what lets any number of `oncall serve` processes on one database behave as
one: a repeat of an alert (Alertmanager re-sends a group every `repeat_interval`, and retries a
failed delivery) finds its key taken and records nothing. The index on `incidents.asset` serves
the intake's question "is there an open incident on this asset?".

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "alert_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alertname", sa.Text(), nullable=False),
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=True),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_receipts"),
        sa.UniqueConstraint(
            "fingerprint",
            "status",
            "starts_at",
            name="uq_alert_receipts_fingerprint_status_starts_at",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_alert_receipts_incident_id_incidents"
        ),
    )
    op.create_index("ix_incidents_asset", "incidents", ["asset"])


def downgrade() -> None:
    op.drop_index("ix_incidents_asset", table_name="incidents")
    op.drop_table("alert_receipts")
