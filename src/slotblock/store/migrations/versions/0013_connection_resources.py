"""connected calendars: CalDAV resources for incremental syncs, and the URL kept apart

Revision ID: 0013_connection_resources
Revises: 0012_connections
Create Date: 2026-12-05

`connection_resources` holds, per CalDAV connection, each resource of its collection (href,
ETag, the blocks it gave by UID), so that a sync reads only what the sync token says
changed. A CalDAV connection's sync token is cleared: its next sync reads the collection
in full and fills the table.

`calendar_connections.address` holds the calendar's URL, and `url` only what may be shown
of it (`scheme://host[:port]/…`). Existing rows keep their URL unsealed in `address` (a
migration has no key); the next sync seals it when SLOTBLOCK_CONNECTION_KEY is set. The
downgrade puts the URL back in `url` only where it is unsealed (a sealed one needs the key).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0013_connection_resources"
down_revision = "0012_connections"
branch_labels = None
depends_on = None

_connections = sa.table(
    "calendar_connections",
    sa.column("location_id", sa.String),
    sa.column("id", sa.String),
    sa.column("url", sa.Text),
    sa.column("address", sa.Text),
    sa.column("kind", sa.String),
    sa.column("sync_token", sa.Text),
)


def _redacted(url: str) -> str:  # core/connection_address.py's rule, as of this revision
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/…"


def upgrade() -> None:
    with op.batch_alter_table("calendar_connections") as batch:
        batch.add_column(sa.Column("address", sa.Text(), nullable=True))
    op.create_table(
        "connection_resources",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("href", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("uids", sa.JSON(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id", "connection_id"],
            ["calendar_connections.location_id", "calendar_connections.id"],
            name="fk_connection_resources_connection",
        ),
        sa.PrimaryKeyConstraint(
            "location_id", "connection_id", "href", name=op.f("pk_connection_resources")
        ),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_connections.c.location_id, _connections.c.id, _connections.c.url)
    )
    for location_id, connection_id, url in rows.all():
        values: dict[str, object] = {"address": url, "url": _redacted(url)}
        bind.execute(
            _connections.update()
            .where(_connections.c.location_id == location_id, _connections.c.id == connection_id)
            .values(**values)
        )
    bind.execute(
        _connections.update().where(_connections.c.kind == "caldav").values(sync_token=None)
    )


def downgrade() -> None:
    op.drop_table("connection_resources")
    bind = op.get_bind()
    bind.execute(
        _connections.update()
        .where(_connections.c.address.like("http%"))
        .values(url=_connections.c.address)
    )
    with op.batch_alter_table("calendar_connections") as batch:
        batch.drop_column("address")
