"""Secrets the server makes for itself and keeps in the database, so that every node and
every restart uses the same one (table `server_secrets`, kept by a reset)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.store.tables import server_secrets


async def get_secret(conn: AsyncConnection, name: str) -> str | None:
    query = sa.select(server_secrets.c.value).where(server_secrets.c.name == name)
    value = (await conn.execute(query)).scalar_one_or_none()
    return None if value is None else str(value)


async def keep_secret(conn: AsyncConnection, name: str, candidate: str) -> str:
    """The secret called `name`: `candidate` if none was kept yet, else the one kept first
    (nodes racing to make it agree on one)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    await conn.execute(
        insert(server_secrets)
        .values(name=name, value=candidate)
        .on_conflict_do_nothing(index_elements=[server_secrets.c.name])
    )
    kept = await get_secret(conn, name)
    assert kept is not None
    return kept
