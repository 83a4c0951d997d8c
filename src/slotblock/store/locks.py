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


# A writer's look at the calendar it relies on: its group, the row held until commit.
_CALENDAR_GROUP = (
    sa.select(calendars.c.group_id)
    .where(calendars.c.location_id == sa.bindparam("l"), calendars.c.id == sa.bindparam("c"))
    .with_for_update(read=True, key_share=True)
)


async def hold_calendar_group(
    conn: AsyncConnection, location_id: str, calendar_id: str
) -> tuple[bool, str | None]:
    """(whether the calendar exists, its group id), in one statement; the calendar cannot
    be deleted until this transaction ends."""
    row = (await conn.execute(_CALENDAR_GROUP, {"l": location_id, "c": calendar_id})).first()
    return (False, None) if row is None else (True, row.group_id)


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
