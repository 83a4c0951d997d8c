"""Row locks that make a check and the write after it one atomic step.

On PostgreSQL a writer that relies on a calendar, group or user holds it `FOR KEY SHARE`
until it commits, and a delete takes the row `FOR UPDATE` before checking that nothing uses
it: whichever comes second sees the other's result (404, or "still has blocks" 422) instead
of a foreign-key failure. On SQLite every write transaction is already serialised
(`BEGIN IMMEDIATE`, see engine.py) and these clauses are not rendered.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.store.tables import calendars, groups, users


async def _held(
    conn: AsyncConnection, table: sa.Table, location_id: str, ids: Sequence[str], *, delete: bool
) -> set[str]:
    if not ids:
        return set()
    query = sa.select(table.c.id).where(table.c.location_id == location_id, table.c.id.in_(ids))
    query = query.with_for_update() if delete else query.with_for_update(read=True, key_share=True)
    return set((await conn.execute(query)).scalars())


async def hold_calendar(conn: AsyncConnection, location_id: str, calendar_id: str) -> bool:
    """True if the calendar exists; it cannot be deleted until this transaction ends."""
    return bool(await _held(conn, calendars, location_id, [calendar_id], delete=False))


async def hold_group(conn: AsyncConnection, location_id: str, group_id: str) -> bool:
    return bool(await _held(conn, groups, location_id, [group_id], delete=False))


async def hold_users(conn: AsyncConnection, location_id: str, user_ids: Sequence[str]) -> set[str]:
    """Those of `user_ids` that exist, held until this transaction ends."""
    return await _held(conn, users, location_id, user_ids, delete=False)


async def claim_calendar(conn: AsyncConnection, location_id: str, calendar_id: str) -> bool:
    """Lock the calendar for deletion; True if it exists."""
    return bool(await _held(conn, calendars, location_id, [calendar_id], delete=True))


async def claim_group(conn: AsyncConnection, location_id: str, group_id: str) -> bool:
    return bool(await _held(conn, groups, location_id, [group_id], delete=True))
