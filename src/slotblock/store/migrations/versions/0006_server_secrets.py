"""server secrets: keys the server makes for itself, shared by every node of one database

Revision ID: 0006_server_secrets
Revises: 0005_clock
Create Date: 2026-12-04

The first is the key that authenticates the changes feed's sync tokens when
SLOTBLOCK_SYNC_TOKEN_KEY is unset: made on first use, kept across restarts and shared by
every node, so a token made by one node is accepted by the others.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_server_secrets"
down_revision = "0005_clock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )


def downgrade() -> None:
    op.drop_table("server_secrets")
