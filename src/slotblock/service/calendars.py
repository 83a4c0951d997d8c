"""Calendars and groups: the targets that blocked-slot queries filter by."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.errors import NotFound, Unprocessable
from slotblock.core.model import (
    CALENDARS_READ,
    CALENDARS_WRITE,
    GROUPS_READ,
    GROUPS_WRITE,
    Calendar,
    Group,
    JSONObject,
    Principal,
)
from slotblock.core.tokens import is_id, new_id
from slotblock.service.auth import check_location, require_scope
from slotblock.service.changes import ChangeLog
from slotblock.store import Store, directory, locks
from slotblock.store import blocks as block_store

T = TypeVar("T")


@dataclass(frozen=True)
class CalendarInput:
    """A create or update body, shape-checked by the API; None means "not given"."""

    name: str | None = None
    description: str | None = None
    group_id: str | None = None
    is_active: bool | None = None
    calendar_type: str | None = None
    slug: str | None = None
    team_members: tuple[JSONObject, ...] | None = None
    extra: JSONObject = field(default_factory=dict)
    id: str | None = None  # only the CLI chooses ids


@dataclass(frozen=True)
class GroupInput:
    name: str | None = None
    description: str | None = None
    slug: str | None = None
    is_active: bool | None = None
    id: str | None = None


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "calendar"


class CalendarService:
    def __init__(self, store: Store, clock: Callable[[], int]) -> None:
        self.store = store
        self.clock = clock
        self.changes = ChangeLog(clock)

    # --- calendars -----------------------------------------------------------------------

    async def create_calendar(
        self, principal: Principal, location_id: str, body: CalendarInput
    ) -> Calendar:
        require_scope(principal, CALENDARS_WRITE)
        check_location(principal, location_id)
        return await self.add_calendar(location_id, body)

    async def add_calendar(self, location_id: str, body: CalendarInput) -> Calendar:
        """Create a calendar in `location_id` (no token: the CLI's path)."""
        name = body.name or ""
        calendar = Calendar(
            location_id=location_id,
            id=body.id or new_id(),
            name=name,
            description=body.description or "",
            group_id=body.group_id or None,
            is_active=True if body.is_active is None else body.is_active,
            calendar_type=body.calendar_type or "event",
            slug=body.slug or slugify(name),
            team_members=body.team_members or (),
            extra=body.extra,
        )
        async with self.store.begin() as conn:
            await _check_location_exists(conn, location_id)
            await self._check_references(conn, calendar)
            await directory.insert_calendar(conn, calendar, self.clock())
            await self.changes.record_team_change(conn, None, calendar)
        return calendar

    async def get_calendar(self, principal: Principal, calendar_id: str) -> Calendar:
        require_scope(principal, CALENDARS_READ)
        async with self.store.read() as conn:
            return await calendar_in(conn, principal.location.id, calendar_id)

    async def list_calendars(
        self, principal: Principal, location_id: str, group_id: str | None
    ) -> list[Calendar]:
        require_scope(principal, CALENDARS_READ)
        check_location(principal, location_id)
        async with self.store.read() as conn:
            return await directory.list_calendars(conn, location_id, group_id=group_id)

    async def update_calendar(
        self, principal: Principal, calendar_id: str, body: CalendarInput
    ) -> Calendar:
        require_scope(principal, CALENDARS_WRITE)
        async with self.store.begin() as conn:
            current = await calendar_in(conn, principal.location.id, calendar_id)
            changed = replace(
                current,
                name=_given(body.name, current.name),
                description=_given(body.description, current.description),
                group_id=current.group_id if body.group_id is None else (body.group_id or None),
                is_active=_given(body.is_active, current.is_active),
                slug=_given(body.slug, current.slug),
                team_members=_given(body.team_members, current.team_members),
                extra={**current.extra, **body.extra},
            )
            await self._check_references(conn, changed)
            await directory.update_calendar(conn, changed, self.clock())
            await self.changes.record_calendar_move(conn, current, changed)
            await self.changes.record_team_change(conn, current, changed)
        return changed

    async def delete_calendar(self, principal: Principal, calendar_id: str) -> None:
        require_scope(principal, CALENDARS_WRITE)
        location_id = principal.location.id
        async with self.store.begin() as conn:
            current = await calendar_in(conn, location_id, calendar_id)
            if not await locks.claim_calendar(conn, location_id, calendar_id):
                raise NotFound("Calendar not found")
            if await block_store.calendar_has_blocks(conn, location_id, calendar_id):
                raise Unprocessable("the calendar has blocked slots; delete them first")
            await directory.delete_calendar(conn, location_id, calendar_id)
            await self.changes.record_team_change(conn, current, None)

    async def _check_references(self, conn: AsyncConnection, calendar: Calendar) -> None:
        # Held, not only read: a concurrent delete of the group or a user waits for us.
        if calendar.group_id and not await locks.hold_group(
            conn, calendar.location_id, calendar.group_id
        ):
            raise NotFound("Group not found")
        wanted = [m["userId"] for m in calendar.team_members]
        if len(set(wanted)) != len(wanted):
            raise Unprocessable("teamMembers lists a user twice")
        known = await locks.hold_users(conn, calendar.location_id, wanted)
        if missing := [u for u in wanted if u not in known]:
            raise NotFound(*(f"User {u} not found" for u in missing))

    # --- groups --------------------------------------------------------------------------

    async def create_group(self, principal: Principal, location_id: str, body: GroupInput) -> Group:
        require_scope(principal, GROUPS_WRITE)
        check_location(principal, location_id)
        return await self.add_group(location_id, body)

    async def add_group(self, location_id: str, body: GroupInput) -> Group:
        """Create a group in `location_id` (no token: the CLI's path)."""
        name = body.name or ""
        group = Group(
            location_id=location_id,
            id=body.id or new_id(),
            name=name,
            description=body.description or "",
            slug=body.slug or slugify(name),
            is_active=True if body.is_active is None else body.is_active,
        )
        async with self.store.begin() as conn:
            await _check_location_exists(conn, location_id)
            await directory.insert_group(conn, group, self.clock())
        return group

    async def list_groups(self, principal: Principal, location_id: str) -> list[Group]:
        require_scope(principal, GROUPS_READ)
        check_location(principal, location_id)
        async with self.store.read() as conn:
            return await directory.list_groups(conn, location_id)

    async def update_group(self, principal: Principal, group_id: str, body: GroupInput) -> Group:
        require_scope(principal, GROUPS_WRITE)
        async with self.store.begin() as conn:
            current = await _group(conn, principal.location.id, group_id)
            changed = replace(
                current,
                name=_given(body.name, current.name),
                description=_given(body.description, current.description),
                slug=_given(body.slug, current.slug),
                is_active=_given(body.is_active, current.is_active),
            )
            await directory.update_group(conn, changed, self.clock())
        return changed

    async def delete_group(self, principal: Principal, group_id: str) -> None:
        require_scope(principal, GROUPS_WRITE)
        location_id = principal.location.id
        async with self.store.begin() as conn:
            await _group(conn, location_id, group_id)
            if not await locks.claim_group(conn, location_id, group_id):
                raise NotFound("Group not found")
            if await directory.group_has_calendars(conn, location_id, group_id):
                raise Unprocessable("the group has calendars; move or delete them first")
            await directory.delete_group(conn, location_id, group_id)


async def _check_location_exists(conn: AsyncConnection, location_id: str) -> None:
    """The CLI's paths name a location by hand: it must exist."""
    if await directory.get_location(conn, location_id) is None:
        raise NotFound(f"location {location_id} not found")


async def calendar_in(conn: AsyncConnection, location_id: str, calendar_id: str) -> Calendar:
    """The calendar of that id in the location; 404 otherwise (ids of other locations too)."""
    found = (
        await directory.get_calendar(conn, location_id, calendar_id) if is_id(calendar_id) else None
    )
    if found is None:
        raise NotFound("Calendar not found")
    return found


async def _group(conn: AsyncConnection, location_id: str, group_id: str) -> Group:
    found = await directory.get_group(conn, location_id, group_id) if is_id(group_id) else None
    if found is None:
        raise NotFound("Group not found")
    return found


def _given(value: T | None, default: T) -> T:
    return default if value is None else value
