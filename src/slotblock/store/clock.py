"""Queries of the stored clock (one row, or none for real time)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.clock import ClockSetting
from slotblock.store.tables import clock

_ROW = 1
COLUMNS = (clock.c.now_ms, clock.c.anchor_ms, clock.c.frozen)


def setting_of(row: Any) -> ClockSetting | None:
    """The setting of a (now_ms, anchor_ms, frozen) row; None for no row or NULLs."""
    if row is None or row[0] is None:
        return None
    return ClockSetting(int(row[0]), int(row[1]), bool(row[2]))


async def read_setting(conn: AsyncConnection, *, for_update: bool = False) -> ClockSetting | None:
    query = sa.select(*COLUMNS).where(clock.c.id == _ROW)
    if for_update:
        query = query.with_for_update()
    return setting_of((await conn.execute(query)).first())


async def write_setting(conn: AsyncConnection, setting: ClockSetting | None) -> None:
    """Store `setting` (None: back to real time)."""
    if setting is None:
        await conn.execute(clock.delete())
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    values = {"now_ms": setting.now_ms, "anchor_ms": setting.anchor_ms, "frozen": setting.frozen}
    await conn.execute(
        insert(clock)
        .values(id=_ROW, **values)
        .on_conflict_do_update(index_elements=[clock.c.id], set_=values)
    )
