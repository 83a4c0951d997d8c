"""connected calendars: the connections, and the synced blocks' connection and source

Revision ID: 0012_connections
Revises: 0011_feeds
Create Date: 2026-12-05

Blocks get two nullable columns (NULL for every block a client wrote): `connection_id`,
the connection a synced block comes from (indexed per location: a sync reads its
connection's blocks), and `source`, its `createdBy.source`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_connections"
down_revision = "0011_feeds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("blocks") as batch:
        batch.add_column(sa.Column("connection_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("source", sa.String(length=32), nullable=True))
    op.create_index(
        op.f("ix_blocks_location_id_connection_id"), "blocks", ["location_id", "connection_id"]
    )
    op.create_table(
        "calendar_connections",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("busy_only", sa.Boolean(), nullable=False),
        sa.Column("username", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("next_sync_ms", sa.BigInteger(), nullable=False),
        sa.Column("claimed_until_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_success_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_ms", sa.BigInteger(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("sync_token", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_calendar_connections_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id", "user_id"],
            ["users.location_id", "users.id"],
            name=op.f("fk_calendar_connections_location_id_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("location_id", "id", name=op.f("pk_calendar_connections")),
    )
    op.create_index(
        op.f("ix_calendar_connections_next_sync_ms"), "calendar_connections", ["next_sync_ms"]
    )
    op.create_index(
        op.f("ix_calendar_connections_location_id_user_id"),
        "calendar_connections",
        ["location_id", "user_id"],
    )


def downgrade() -> None:
    op.drop_table("calendar_connections")
    op.drop_index(op.f("ix_blocks_location_id_connection_id"), table_name="blocks")
    with op.batch_alter_table("blocks") as batch:
        batch.drop_column("source")
        batch.drop_column("connection_id")
