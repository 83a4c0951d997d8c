"""Queries of the shared request log: one row per logged request, the oldest deleted as new
ones come (every `PRUNE_EVERY` rows, so that the table holds at most size + PRUNE_EVERY)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.store.tables import request_log

PRUNE_EVERY = 16
_NO_FLUSH_WAIT = sa.text("SET LOCAL synchronous_commit TO OFF")


async def add(conn: AsyncConnection, row: dict[str, Any], keep: int) -> None:
    """Log a row, and every PRUNE_EVERY rows forget all but the newest `keep`. On
    PostgreSQL without waiting for the disk: the row is visible to every session at once,
    and only a crash of the database server could lose the last ones (a test's log)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_NO_FLUSH_WAIT)
    seq = await conn.execute(request_log.insert().values(**row).returning(request_log.c.seq))
    number = int(seq.scalar_one())
    if number % PRUNE_EVERY == 0:
        await conn.execute(request_log.delete().where(request_log.c.seq <= number - keep))


async def newest(conn: AsyncConnection, limit: int) -> list[sa.Row[Any]]:
    """The newest `limit` rows, newest first."""
    query = sa.select(request_log).order_by(request_log.c.seq.desc()).limit(limit)
    return list(await conn.execute(query))
