"""Alert receipts, and live timeline notifications on PostgreSQL.

Alert receipts: one row per (fingerprint, state, start) an intake has recorded.

The unique key is what lets any number of `oncall serve` processes on one database behave as
one: a repeat of an alert (Alertmanager re-sends a group every `repeat_interval`, and retries a
failed delivery) finds its key taken and records nothing. The index on `incidents.asset` serves
the intake's question "is there an open incident on this asset?".

On PostgreSQL every appended event also sends `NOTIFY oncall_events, '<incident>:<seq>'` (an
AFTER INSERT trigger, so every writer notifies, whatever code path appended; PostgreSQL delivers
it at commit and never for a rolled-back append). Open apps `LISTEN` and show the event within a
second; SQLite has no such channel, and its readers poll the chain head instead.

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

NOTIFY_CHANNEL = "oncall_events"  # incidents.live.CHANNEL; a migration never imports live code


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
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION oncall_notify_event() RETURNS trigger AS $$
            BEGIN
                PERFORM pg_notify('{NOTIFY_CHANNEL}', NEW.incident_id || ':' || NEW.seq);
                RETURN NEW;
            END
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER events_notify AFTER INSERT ON events "
            "FOR EACH ROW EXECUTE FUNCTION oncall_notify_event()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER events_notify ON events")
        op.execute("DROP FUNCTION oncall_notify_event()")
    op.drop_index("ix_incidents_asset", table_name="incidents")
    op.drop_table("alert_receipts")
