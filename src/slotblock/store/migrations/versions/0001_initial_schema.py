"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "locations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
    )
    op.create_table(
        "groups",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_groups_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("location_id", "id", name=op.f("pk_groups")),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("revoked_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_tokens_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tokens_token_hash")),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_location_id"), ["location_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_users_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("location_id", "id", name=op.f("pk_users")),
    )
    op.create_table(
        "calendars",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("calendar_type", sa.String(length=32), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id", "group_id"],
            ["groups.location_id", "groups.id"],
            name=op.f("fk_calendars_location_id_group_id_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_calendars_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("location_id", "id", name=op.f("pk_calendars")),
    )
    with op.batch_alter_table("calendars", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendars_location_id_group_id"),
            ["location_id", "group_id"],
            unique=False,
        )

    op.create_table(
        "blocks",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("calendar_id", sa.String(length=64), nullable=True),
        sa.Column("assigned_user_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("long_span", sa.Boolean(), nullable=False),
        sa.Column("bound_start_ms", sa.BigInteger(), nullable=False),
        sa.Column("bound_end_ms", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("rrule", sa.Text(), nullable=True),
        sa.Column("last_start_ms", sa.BigInteger(), nullable=True),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id", "assigned_user_id"],
            ["users.location_id", "users.id"],
            name=op.f("fk_blocks_location_id_assigned_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id", "calendar_id"],
            ["calendars.location_id", "calendars.id"],
            name=op.f("fk_blocks_location_id_calendar_id_calendars"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_blocks_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("location_id", "id", name=op.f("pk_blocks")),
    )
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_blocks_calendar_bound",
            ["location_id", "calendar_id", "long_span", "bound_end_ms"],
            unique=False,
        )
        batch_op.create_index(
            "ix_blocks_calendar_start",
            ["location_id", "calendar_id", "long_span", "start_ms"],
            unique=False,
        )
        batch_op.create_index(
            "ix_blocks_user_bound",
            ["location_id", "assigned_user_id", "long_span", "bound_end_ms"],
            unique=False,
        )
        batch_op.create_index(
            "ix_blocks_user_start",
            ["location_id", "assigned_user_id", "long_span", "start_ms"],
            unique=False,
        )

    op.create_table(
        "calendar_members",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("calendar_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id", "calendar_id"],
            ["calendars.location_id", "calendars.id"],
            name=op.f("fk_calendar_members_location_id_calendar_id_calendars"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id", "user_id"],
            ["users.location_id", "users.id"],
            name=op.f("fk_calendar_members_location_id_user_id_users"),
        ),
        sa.PrimaryKeyConstraint(
            "location_id", "calendar_id", "user_id", name=op.f("pk_calendar_members")
        ),
    )
    with op.batch_alter_table("calendar_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_members_location_id_user_id"),
            ["location_id", "user_id"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("calendar_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_members_location_id_user_id"))

    op.drop_table("calendar_members")
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_blocks_user_start")
        batch_op.drop_index("ix_blocks_user_bound")
        batch_op.drop_index("ix_blocks_calendar_start")
        batch_op.drop_index("ix_blocks_calendar_bound")

    op.drop_table("blocks")
    with op.batch_alter_table("calendars", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendars_location_id_group_id"))

    op.drop_table("calendars")
    op.drop_table("users")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tokens_location_id"))

    op.drop_table("tokens")
    op.drop_table("groups")
    op.drop_table("locations")
