"""change numbers, block changes, webhooks, outbox, idempotency keys

Revision ID: 0003_changefeed
Revises: 0002_toolkit
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_changefeed"
down_revision = "0002_toolkit"
branch_labels = None
depends_on = None

Id = sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "change_counters",
        sa.Column("location_id", Id, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("floor_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_change_counters")),
    )
    op.create_table(
        "block_changes",
        sa.Column("location_id", Id, nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_id", Id, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("calendar_id", Id, nullable=True),
        sa.Column("assigned_user_id", Id, nullable=True),
        sa.Column("prev_calendar_id", Id, nullable=True),
        sa.Column("prev_assigned_user_id", Id, nullable=True),
        sa.Column("changed_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", "seq", name=op.f("pk_block_changes")),
    )
    op.create_index(
        op.f("ix_block_changes_location_id_block_id"),
        "block_changes",
        ["location_id", "block_id"],
    )
    op.create_index(op.f("ix_block_changes_changed_ms"), "block_changes", ["changed_ms"])
    op.create_table(
        "webhooks",
        sa.Column("location_id", Id, nullable=False),
        sa.Column("id", Id, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_webhooks_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("location_id", "id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("location_id", Id, nullable=False),
        sa.Column("webhook_id", Id, nullable=False),
        sa.Column("block_id", Id, nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("finished_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_state_next_attempt_ms"), "outbox", ["state", "next_attempt_ms"])
    op.create_index(
        op.f("ix_outbox_location_id_webhook_id_block_id_state"),
        "outbox",
        ["location_id", "webhook_id", "block_id", "state"],
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("location_id", Id, nullable=False),
        sa.Column("token_id", Id, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", "token_id", "key", name=op.f("pk_idempotency_keys")),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_outbox_location_id_webhook_id_block_id_state"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_state_next_attempt_ms"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("webhooks")
    op.drop_index(op.f("ix_block_changes_changed_ms"), table_name="block_changes")
    op.drop_index(op.f("ix_block_changes_location_id_block_id"), table_name="block_changes")
    op.drop_table("block_changes")
    op.drop_table("change_counters")
