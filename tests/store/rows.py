"""Rows for the store contract suite, written through the store itself (no services)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from slotblock.core.model import Block, Calendar, Group, Location
from slotblock.store import Store, directory

NOW = 1_700_000_000_000


@dataclass(frozen=True)
class Place:
    """A location with a user, a group, and a calendar of that group."""

    location: Location
    user_id: str
    group: Group
    calendar: Calendar


async def place(store: Store, suffix: str = "1", timezone: str = "Europe/Paris") -> Place:
    location = Location(f"loc{suffix}", f"Location {suffix}", timezone)
    group = Group(location.id, "grp", "Group", "", "group", True)
    calendar = Calendar(
        location.id, "cal", "Calendar", "", group.id, True, "event", "calendar",
        ({"userId": "usr"},), {"eventColor": "#fff"},
    )  # fmt: skip
    async with store.begin() as conn:
        await directory.insert_location(conn, location, NOW)
        await directory.insert_user(conn, location.id, "usr", "User", "u@example.com", NOW)
        await directory.insert_group(conn, group, NOW)
        await directory.insert_calendar(conn, calendar, NOW)
    return Place(location, "usr", group, calendar)


def block(p: Place, block_id: str, start: int, minutes: int = 60, **changes: object) -> Block:
    base = Block(
        location_id=p.location.id,
        id=block_id,
        calendar_id=p.calendar.id,
        assigned_user_id=None,
        start_ms=start,
        end_ms=start + minutes * 60_000,
        timezone=p.location.timezone,
        rrule=None,
        last_start_ms=None,
        overrides=(),
        created_ms=NOW,
        updated_ms=NOW,
    )
    return replace(base, **changes)  # type: ignore[arg-type]
