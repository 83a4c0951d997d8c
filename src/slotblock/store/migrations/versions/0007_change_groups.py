"""block changes: the group of the block's calendar, after and before the change

Revision ID: 0007_change_groups
Revises: 0006_server_secrets
Create Date: 2026-11-26

The group filter of the changes feed selects changes by these columns, so that a calendar
moved from one group to another shows its blocks leaving the first and entering the second.
Rows written before stay NULL: the feed matches them by the calendars' groups of now, as it
did before this revision (and as nodes of the previous version still write them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_change_groups"
down_revision = "0006_server_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("block_changes") as batch:
        batch.add_column(sa.Column("group_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("prev_group_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("block_changes") as batch:
        batch.drop_column("prev_group_id")
        batch.drop_column("group_id")
