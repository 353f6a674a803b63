"""Fencing tokens and run kinds.

Each process that drives a run holds a fresh session token. Leases and ledger rows carry it, and
every write of theirs is conditional on it, so a process whose run was taken over cannot record
another effect. Ledger rows count the attempts at a step (a claimed in-doubt step is one more).
Runs say what they are (`runbook` or `page`) instead of a sentinel runbook id, and which session
drives them now.

Existing rows: leases get an empty token (a session of an older oncall, fenced by any
takeover), ledger rows one attempt, events no OS user or host (their hashes stay as they were), runs whose runbook id is the old page sentinel
(`oncall:page`) become `page` runs. Nothing is re-hashed: the timeline is untouched.

Revision ID: 0003
Revises: 0004 (re-parented onto main's head: #13's 0005 and #12's 0004 landed first)
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        batch.add_column(sa.Column("session", sa.String(36), nullable=False, server_default=""))
    with op.batch_alter_table("step_ledger") as batch:
        batch.add_column(sa.Column("session", sa.String(36), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="runbook"))
        batch.add_column(sa.Column("session", sa.String(36), nullable=True))
    op.execute("UPDATE runs SET kind = 'page' WHERE runbook_id = 'oncall:page'")
    # Who was at the keyboard: the OS user and host beside the acting catalog ref, and whether
    # they acted as someone else. NULL on older events, whose hashes never covered them.
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("os_user", sa.Text(), nullable=True))
        batch.add_column(sa.Column("host", sa.Text(), nullable=True))
        batch.add_column(sa.Column("impersonated", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # Not in batch mode: SQLite would rebuild `events` and lose its append-only triggers.
    for column in ("impersonated", "host", "os_user"):
        op.drop_column("events", column)
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("session")
        batch.drop_column("kind")
    with op.batch_alter_table("step_ledger") as batch:
        batch.drop_column("attempts")
        batch.drop_column("session")
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("session")
