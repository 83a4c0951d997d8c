"""Queries for locations, users, groups, calendars and their team members."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.model import Calendar, Group, JSONObject, Location
from slotblock.store.integrity import deleting, writing
from slotblock.store.tables import calendar_members, calendars, groups, locations, users


@contextmanager
def unique(what: str, missing: str = "Location not found") -> Iterator[None]:
    """A taken id → AlreadyExists (409); a missing location or other reference →
    ReferenceMissing(missing) (404): two different failures, two different answers."""
    with writing(duplicate=f"a {what} with that id already exists", missing=missing):
        yield


async def insert_location(conn: AsyncConnection, location: Location, now_ms: int) -> None:
    with unique("location"):
        await conn.execute(
            locations.insert().values(
                id=location.id,
                name=location.name,
                timezone=location.timezone,
                created_ms=now_ms,
            )
        )


async def get_location(conn: AsyncConnection, location_id: str) -> Location | None:
    row = (
        await conn.execute(sa.select(locations).where(locations.c.id == location_id))
    ).one_or_none()
    return Location(row.id, row.name, row.timezone) if row else None


async def insert_user(
    conn: AsyncConnection,
    location_id: str,
    user_id: str,
    name: str,
    email: str,
    now_ms: int,
) -> None:
    with unique("user"):
        await conn.execute(
            users.insert().values(
                location_id=location_id,
                id=user_id,
                name=name,
                email=email,
                created_ms=now_ms,
            )
        )


async def existing_users(conn: AsyncConnection, location_id: str, ids: Sequence[str]) -> set[str]:
    """Those of `ids` that are users of the location."""
    if not ids:
        return set()
    rows = await conn.execute(
        sa.select(users.c.id).where(users.c.location_id == location_id, users.c.id.in_(ids))
    )
    return set(rows.scalars())


# --- groups ------------------------------------------------------------------------------


def _group(row: Any) -> Group:
    return Group(
        location_id=row.location_id,
        id=row.id,
        name=row.name,
        description=row.description,
        slug=row.slug,
        is_active=row.is_active,
    )


async def insert_group(conn: AsyncConnection, group: Group, now_ms: int) -> None:
    with unique("group"):
        await conn.execute(
            groups.insert().values(**_group_values(group), created_ms=now_ms, updated_ms=now_ms)
        )


async def update_group(conn: AsyncConnection, group: Group, now_ms: int) -> None:
    await conn.execute(
        groups.update()
        .where(groups.c.location_id == group.location_id, groups.c.id == group.id)
        .values(**_group_values(group), updated_ms=now_ms)
    )


def _group_values(group: Group) -> dict[str, Any]:
    return {
        "location_id": group.location_id,
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "slug": group.slug,
        "is_active": group.is_active,
    }


async def get_group(conn: AsyncConnection, location_id: str, group_id: str) -> Group | None:
    row = (
        await conn.execute(
            sa.select(groups).where(groups.c.location_id == location_id, groups.c.id == group_id)
        )
    ).one_or_none()
    return _group(row) if row else None


async def list_groups(conn: AsyncConnection, location_id: str) -> list[Group]:
    rows = await conn.execute(
        sa.select(groups)
        .where(groups.c.location_id == location_id)
        .order_by(groups.c.name, groups.c.id)
    )
    return [_group(row) for row in rows]


async def delete_group(conn: AsyncConnection, location_id: str, group_id: str) -> None:
    with deleting("the group has calendars; move or delete them first"):
        await conn.execute(
            groups.delete().where(groups.c.location_id == location_id, groups.c.id == group_id)
        )


async def group_has_calendars(conn: AsyncConnection, location_id: str, group_id: str) -> bool:
    query = sa.select(calendars.c.id).where(
        calendars.c.location_id == location_id, calendars.c.group_id == group_id
    )
    return (await conn.execute(query.limit(1))).first() is not None


# --- calendars ---------------------------------------------------------------------------


def _calendar_values(calendar: Calendar) -> dict[str, Any]:
    return {
        "location_id": calendar.location_id,
        "id": calendar.id,
        "name": calendar.name,
        "description": calendar.description,
        "group_id": calendar.group_id,
        "is_active": calendar.is_active,
        "calendar_type": calendar.calendar_type,
        "slug": calendar.slug,
        "extra": calendar.extra,
    }


async def insert_calendar(conn: AsyncConnection, calendar: Calendar, now_ms: int) -> None:
    with unique("calendar", "Location or group not found"):
        await conn.execute(
            calendars.insert().values(
                **_calendar_values(calendar), created_ms=now_ms, updated_ms=now_ms
            )
        )
    await _insert_members(conn, calendar)


async def update_calendar(conn: AsyncConnection, calendar: Calendar, now_ms: int) -> None:
    with unique("calendar", "Group not found"):
        await _update_calendar_row(conn, calendar, now_ms)
    await conn.execute(
        calendar_members.delete().where(
            calendar_members.c.location_id == calendar.location_id,
            calendar_members.c.calendar_id == calendar.id,
        )
    )
    await _insert_members(conn, calendar)


async def _update_calendar_row(conn: AsyncConnection, calendar: Calendar, now_ms: int) -> None:
    await conn.execute(
        calendars.update()
        .where(
            calendars.c.location_id == calendar.location_id,
            calendars.c.id == calendar.id,
        )
        .values(**_calendar_values(calendar), updated_ms=now_ms)
    )


async def _insert_members(conn: AsyncConnection, calendar: Calendar) -> None:
    rows = [
        {
            "location_id": calendar.location_id,
            "calendar_id": calendar.id,
            "user_id": member["userId"],
            "position": position,
            "extra": {k: v for k, v in member.items() if k != "userId"},
        }
        for position, member in enumerate(calendar.team_members)
    ]
    if rows:
        with unique("team member", "User not found"):
            await conn.execute(calendar_members.insert(), rows)


async def calendar_group(
    conn: AsyncConnection, location_id: str, calendar_id: str
) -> tuple[str | None] | None:
    """(the calendar's group id,) or None when the location has no such calendar."""
    query = sa.select(calendars.c.group_id).where(
        calendars.c.location_id == location_id, calendars.c.id == calendar_id
    )
    row = (await conn.execute(query)).first()
    return None if row is None else (row.group_id,)


async def get_calendar(
    conn: AsyncConnection, location_id: str, calendar_id: str
) -> Calendar | None:
    found = await list_calendars(conn, location_id, calendar_id=calendar_id)
    return found[0] if found else None


async def list_calendars(
    conn: AsyncConnection,
    location_id: str,
    *,
    group_id: str | None = None,
    calendar_id: str | None = None,
) -> list[Calendar]:
    query = sa.select(calendars).where(calendars.c.location_id == location_id)
    if group_id is not None:
        query = query.where(calendars.c.group_id == group_id)
    if calendar_id is not None:
        query = query.where(calendars.c.id == calendar_id)
    rows = (await conn.execute(query.order_by(calendars.c.name, calendars.c.id))).all()
    members = await _members(conn, location_id, [row.id for row in rows])
    return [
        Calendar(
            location_id=row.location_id,
            id=row.id,
            name=row.name,
            description=row.description,
            group_id=row.group_id,
            is_active=row.is_active,
            calendar_type=row.calendar_type,
            slug=row.slug,
            team_members=tuple(members.get(row.id, [])),
            extra=dict(row.extra),
        )
        for row in rows
    ]


async def _members(
    conn: AsyncConnection, location_id: str, calendar_ids: Sequence[str]
) -> dict[str, list[JSONObject]]:
    if not calendar_ids:
        return {}
    rows = await conn.execute(
        sa.select(calendar_members)
        .where(
            calendar_members.c.location_id == location_id,
            calendar_members.c.calendar_id.in_(calendar_ids),
        )
        .order_by(calendar_members.c.calendar_id, calendar_members.c.position)
    )
    out: dict[str, list[JSONObject]] = {}
    for row in rows:
        out.setdefault(row.calendar_id, []).append({"userId": row.user_id, **row.extra})
    return out


async def delete_calendar(conn: AsyncConnection, location_id: str, calendar_id: str) -> None:
    with deleting("the calendar has blocked slots; delete them first"):
        await conn.execute(
            calendars.delete().where(
                calendars.c.location_id == location_id, calendars.c.id == calendar_id
            )
        )


async def calendar_with_fields_text(
    conn: AsyncConnection, location_id: str, calendar_id: str
) -> tuple[Calendar, str] | None:
    """The calendar without its official fields (`extra` empty), and those fields as their
    stored JSON text: for a reader that parses them off the event loop (they may be as
    large as a request body, and parsing a megabyte takes tens of milliseconds)."""
    columns = [column for column in calendars.c if column.name != "extra"]
    query = sa.select(*columns, sa.cast(calendars.c.extra, sa.Text).label("fields")).where(
        calendars.c.location_id == location_id, calendars.c.id == calendar_id
    )
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    members = await _members(conn, location_id, [row.id])
    calendar = Calendar(
        location_id=row.location_id,
        id=row.id,
        name=row.name,
        description=row.description,
        group_id=row.group_id,
        is_active=row.is_active,
        calendar_type=row.calendar_type,
        slug=row.slug,
        team_members=tuple(members.get(row.id, [])),
    )
    return calendar, str(row.fields)
