"""webhook deliveries a test can see and replay: each delivery's last attempts, and when a
finished delivery was sent again

Revision ID: 0010_webhook_deliveries
Revises: 0009_oauth
Create Date: 2026-12-05

`webhook_attempts` keeps, per delivery, its last attempts (SLOTBLOCK_WEBHOOK_ATTEMPTS_KEPT):
time, duration, the receiver's status or the error, the signature header sent. Its rows go
with their outbox row (retention, reset, an unsubscribe). `outbox.redelivered_ms` is set by
`POST /_admin/webhooks/deliveries/{id}/redeliver`: the retry horizon counts from it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_webhook_deliveries"
down_revision = "0009_oauth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_attempts",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("signature", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint(
            "location_id", "delivery_id", "attempt", name=op.f("pk_webhook_attempts")
        ),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("redelivered_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("redelivered_ms")
    op.drop_table("webhook_attempts")
