"""A calendar's block created in one statement on PostgreSQL: the calendar held, its group
read and the block inserted together (one round trip instead of two).

`FOR KEY SHARE` holds the calendar until commit exactly as locks.hold_calendar_group does;
the insert reads its row from the held calendar, so a missing calendar inserts nothing and
the caller answers 404 with nothing written. SQLite keeps the two statements (its driver is
in process: no round trip to save)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.model import Block
from slotblock.store.blocks import _GONE, _values
from slotblock.store.integrity import writing
from slotblock.store.tables import blocks, calendars


def _statement() -> Any:
    held = (
        sa.select(calendars.c.group_id)
        .where(calendars.c.location_id == sa.bindparam("l"), calendars.c.id == sa.bindparam("c"))
        .with_for_update(read=True, key_share=True)
        .cte("held")
    )
    names = [c.name for c in blocks.c]
    row = sa.select(*(sa.bindparam(n, type_=blocks.c[n].type) for n in names)).select_from(held)
    inserted = blocks.insert().from_select(names, row).returning(blocks.c.id).cte("inserted")
    count = sa.select(sa.func.count()).select_from(inserted).scalar_subquery()
    return sa.select(held.c.group_id, count.label("n"))


_HOLD_AND_INSERT = _statement()  # built once (building it costs more than running it)


def one_statement(conn: AsyncConnection) -> bool:
    """Whether `hold_calendar_and_insert` is one statement on this connection."""
    return conn.dialect.name == "postgresql"


async def hold_calendar_and_insert(conn: AsyncConnection, block: Block) -> tuple[bool, str | None]:
    """(whether the calendar exists, its group id); the block (version 1) is inserted when
    it does, and the calendar is held until this transaction ends. PostgreSQL only."""
    assert block.calendar_id is not None
    params = {**_values(block), "version": 1, "l": block.location_id, "c": block.calendar_id}
    with writing(duplicate="a block with that id already exists", missing=_GONE):
        row = (await conn.execute(_HOLD_AND_INSERT, params)).first()
    if row is None:
        return False, None
    assert row.n == 1
    return True, row.group_id
