"""outbox retention: an index on (state, finished_ms) for deleting old finished deliveries

Revision ID: 0008_outbox_retention
Revises: 0007_change_groups
Create Date: 2026-12-02

The outbox's `event` column keeps its type: new rows hold a versioned payload
({"v": 1, …}, service/webhook_events.py) and rows written before it are still read.
"""

from __future__ import annotations

from alembic import op

revision = "0008_outbox_retention"
down_revision = "0007_change_groups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_outbox_state_finished_ms"), "outbox", ["state", "finished_ms"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_state_finished_ms"), table_name="outbox")
