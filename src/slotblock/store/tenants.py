"""Queries behind the operator's tenant commands: listing and removing locations and users."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.model import Location
from slotblock.store.tables import (
    blocks,
    calendar_connections,
    calendar_members,
    calendars,
    groups,
    locations,
    tokens,
    users,
)


async def list_locations(conn: AsyncConnection) -> list[Location]:
    rows = await conn.execute(sa.select(locations).order_by(locations.c.id))
    return [Location(row.id, row.name, row.timezone) for row in rows]


async def location_contents(conn: AsyncConnection, location_id: str) -> list[str]:
    """Which kinds of things still live in a location (users, groups, calendars, blocks)."""
    found = []
    for name, table in (
        ("users", users),
        ("groups", groups),
        ("calendars", calendars),
        ("blocks", blocks),
    ):
        query = sa.select(sa.literal(1)).where(table.c.location_id == location_id).limit(1)
        if (await conn.execute(query)).first():
            found.append(name)
    return found


async def delete_location(conn: AsyncConnection, location_id: str) -> None:
    """The location and its tokens (the caller checked that nothing else is left)."""
    await conn.execute(tokens.delete().where(tokens.c.location_id == location_id))
    await conn.execute(locations.delete().where(locations.c.id == location_id))


async def list_users(conn: AsyncConnection, location_id: str) -> list[tuple[str, str, str]]:
    """(id, name, email) of a location's users."""
    query = (
        sa.select(users.c.id, users.c.name, users.c.email)
        .where(users.c.location_id == location_id)
        .order_by(users.c.id)
    )
    return [(row.id, row.name, row.email) for row in await conn.execute(query)]


async def user_in_use(conn: AsyncConnection, location_id: str, user_id: str) -> bool:
    """Whether a calendar lists the user, a block is assigned to them, or a connected
    calendar is theirs."""
    for query in (
        sa.select(sa.literal(1)).where(
            calendar_members.c.location_id == location_id, calendar_members.c.user_id == user_id
        ),
        sa.select(sa.literal(1)).where(
            blocks.c.location_id == location_id, blocks.c.assigned_user_id == user_id
        ),
        sa.select(sa.literal(1)).where(
            calendar_connections.c.location_id == location_id,
            calendar_connections.c.user_id == user_id,
        ),
    ):
        if (await conn.execute(query.limit(1))).first():
            return True
    return False


async def delete_user(conn: AsyncConnection, location_id: str, user_id: str) -> bool:
    result = await conn.execute(
        users.delete().where(users.c.location_id == location_id, users.c.id == user_id)
    )
    return result.rowcount > 0
