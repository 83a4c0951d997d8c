"""data versions: a per-location counter every write bumps (PostgreSQL triggers)

Revision ID: 0004_hotpath
Revises: 0003_changefeed
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_hotpath"
down_revision = "0003_changefeed"
branch_labels = None
depends_on = None

TABLES = ("blocks", "calendars", "groups", "users")
EVENTS = (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
BUMP = """
CREATE FUNCTION slotblock_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO data_versions (location_id, version)
    SELECT DISTINCT location_id, 1 FROM changed
    ON CONFLICT (location_id) DO UPDATE SET version = data_versions.version + 1;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_data_versions")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(BUMP)
    for table in TABLES:
        for event, side in EVENTS:
            op.execute(
                f"CREATE TRIGGER slotblock_version_{table}_{event.lower()} AFTER {event} "
                f"ON {table} REFERENCING {side} TABLE AS changed FOR EACH STATEMENT "
                "EXECUTE FUNCTION slotblock_bump_data_version()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for event, _ in EVENTS:
                op.execute(f"DROP TRIGGER slotblock_version_{table}_{event.lower()} ON {table}")
        op.execute("DROP FUNCTION slotblock_bump_data_version()")
    op.drop_table("data_versions")
