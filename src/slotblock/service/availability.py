"""Availability over stored data: a calendar's free slots, and busy-only free/busy.

Free slots (`get-slots`) are the calendar's opening hours (its official fields, read by the
pure `slots` module) minus blocked time. Blocked time for a team member is the calendar's
blocks plus that member's user-level blocks, series expanded with their moved and deleted
instances. The members concerned are every team member, or the `userId`/`userIds` asked
for. A slot is free when at least one concerned member is free (round robin, and every other
calendar type), or when all are (a `collective` calendar); a calendar without team members
is free when the calendar itself is not blocked. An inactive calendar has no free slots.

Free/busy is the merged busy time of each calendar, user or group asked for (the same
targets as get-blocked-slots), with nothing else about the blocks.

Both read and expand blocks exactly as get-blocked-slots does (`BlockService`): the same
window check, the fast path's reader where it is on, the expansion cache, one work budget
(`SLOTBLOCK_QUERY_WORK`) and one event cap (`SLOTBLOCK_MAX_EVENTS`) per request. Everything
that costs CPU — expansion, the busy intervals, the slots, the answer's strings — runs in a
worker thread. Free slots are bounded in every input that drives their work: custom dates,
ranges a day, team members, candidate slots (`SLOTBLOCK_MAX_SLOT_*`); each slot checked
against a member is charged to the same budget as the expansion, so one request costs a
bounded amount of CPU, answered 422 past any bound.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core import slots
from slotblock.core.errors import InvalidInput, NotFound, ScopeMissing, Unprocessable
from slotblock.core.isotime import zone
from slotblock.core.model import (
    CALENDARS_READ,
    EVENTS_READ,
    FREEBUSY,
    Calendar,
    Event,
    Principal,
    TargetKind,
    Targets,
)
from slotblock.core.rrule_work import Budget, WorkExceeded
from slotblock.core.slots import Interval
from slotblock.core.tokens import is_id
from slotblock.service.auth import NO_SCOPE, check_location, require_scope
from slotblock.service.blocks import BlockService
from slotblock.store import Store, directory
from slotblock.store import blocks as block_store

# An endDate before 1973-03-04 is almost surely seconds sent for milliseconds (a window so
# far in the past can hold no free slot anyway): say so rather than answer {}.
SECONDS_LOOKALIKE = 100_000_000_000
SECONDS_HINT = "startDate and endDate are epoch milliseconds; these look like seconds"


@dataclass(frozen=True)
class SlotsQuery:
    calendar_id: str
    start_ms: int
    end_ms: int
    timezone: str | None = None  # of the answer; the location's when None
    user_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class FreeBusyQuery:
    location_id: str
    start_ms: int
    end_ms: int
    calendar_ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class FreeBusy:
    """Merged busy intervals per target asked for, clipped to the window."""

    calendars: dict[str, list[Interval]] = field(default_factory=dict)
    users: dict[str, list[Interval]] = field(default_factory=dict)
    groups: dict[str, list[Interval]] = field(default_factory=dict)


class AvailabilityService:
    def __init__(
        self, store: Store, settings: Settings, clock: Callable[[], int], blocks: BlockService
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.blocks = blocks
        self.limits = slots.Limits(
            custom_dates=settings.max_slot_custom_dates,
            ranges_per_day=settings.max_slot_ranges,
            slots=settings.max_slots,
        )

    # --- free slots ----------------------------------------------------------------------

    async def free_slots(self, principal: Principal, q: SlotsQuery) -> dict[str, list[str]]:
        """The official map `{"YYYY-MM-DD": ["<ISO start>", …]}` in the asked zone."""
        require_scope(principal, CALENDARS_READ)
        if q.end_ms < SECONDS_LOOKALIKE:
            raise Unprocessable(SECONDS_HINT)
        days = self.settings.max_slot_window_days
        self.blocks.check_window(q.start_ms, q.end_ms, ("startDate", "endDate"), days)
        location = principal.location
        async with self.store.read() as conn:
            calendar, text = await _calendar(conn, location.id, q.calendar_id)
            members = await _members(conn, calendar, q.user_ids, self.settings.max_slot_members)
        if not calendar.is_active:
            return {}
        fields = await self.blocks.cpu.run(_parse, text)
        rules = slots.rules_of(fields)
        span = (
            q.start_ms - rules.pre_buffer_ms,
            q.end_ms + rules.duration_ms + rules.post_buffer_ms,
        )
        targets = [Targets(calendar_id=calendar.id)]
        targets += [Targets(user_id=member) for member in members]
        found = await self.blocks.blocks_of_targets(location.id, *span, targets)
        now = self.clock()
        mode: slots.Mode = "all" if calendar.calendar_type == "collective" else "any"

        def compute() -> dict[str, list[str]]:
            # the opening hours first: a calendar past the bounds costs no expansion
            availability = slots.availability_of(fields, self.limits)
            budget = Budget(self.settings.query_work)
            own, *theirs = (_intervals(e) for e in self.blocks.expand(found, *span, budget))
            busy = [own + mine for mine in theirs] or [own]
            try:
                schedule = slots.Schedule(
                    availability=availability, rules=rules, tz=zone(location.timezone)
                )
                starts = slots.free_slots(
                    schedule, (q.start_ms, q.end_ms), busy, now, mode, budget, self.limits.slots
                )
            except WorkExceeded as exc:
                raise Unprocessable(
                    "computing the free slots of this window needs more than "
                    f"{self.settings.query_work} units of work; query a shorter window or "
                    "fewer users"
                ) from exc
            return slots.by_local_date(starts, zone(q.timezone or location.timezone))

        return await self.blocks.cpu.run(compute)

    # --- free/busy -----------------------------------------------------------------------

    async def free_busy(self, principal: Principal, q: FreeBusyQuery) -> FreeBusy:
        if not principal.scopes & {FREEBUSY, EVENTS_READ}:
            raise ScopeMissing(NO_SCOPE)
        check_location(principal, q.location_id)
        if not (q.calendar_ids or q.user_ids or q.group_ids):
            raise InvalidInput("Either of calendarId, userId or groupId is required")
        self.blocks.check_window(q.start_ms, q.end_ms)
        asked: dict[TargetKind, list[str]] = {
            "calendar": list(dict.fromkeys(q.calendar_ids)),
            "user": list(dict.fromkeys(q.user_ids)),
            "group": list(dict.fromkeys(q.group_ids)),
        }
        most = self.settings.max_free_busy_targets
        if sum(len(ids) for ids in asked.values()) > most:
            raise Unprocessable(f"more than {most} calendars, users and groups asked; ask fewer")
        async with self.store.read() as conn:
            await _check_targets(conn, q.location_id, asked)
        targets = [Targets.one(kind, i) for kind, ids in asked.items() for i in ids]
        window = (q.start_ms, q.end_ms)
        found = await self.blocks.blocks_of_targets(q.location_id, *window, targets)

        def compute() -> FreeBusy:
            budget = Budget(self.settings.query_work)
            busy = iter(self.blocks.expand(found, *window, budget))
            answer = {
                kind: {i: _clip(_intervals(next(busy)), window) for i in ids}
                for kind, ids in asked.items()
            }
            return FreeBusy(answer["calendar"], answer["user"], answer["group"])

        return await self.blocks.cpu.run(compute)


# --- helpers -----------------------------------------------------------------------------


async def _members(
    conn: AsyncConnection, calendar: Calendar, asked: Sequence[str], most: int
) -> list[str]:
    """The team members concerned: all of them, or those asked for (each must be one);
    422 past `most`."""
    team = list(dict.fromkeys(str(m["userId"]) for m in calendar.team_members))
    wanted = list(dict.fromkeys(asked)) if asked else team
    if len(wanted) > most:
        raise Unprocessable(
            f"more than {most} team members to check; ask for some of them with userIds"
        )
    if not asked:
        return team
    known = await directory.existing_users(conn, calendar.location_id, wanted)
    if missing := [u for u in wanted if u not in known]:
        raise NotFound(*(f"User {u} not found" for u in missing))
    if strangers := [u for u in wanted if u not in team]:
        raise Unprocessable(*(f"User {u} is not a team member of the calendar" for u in strangers))
    return wanted


async def _calendar(
    conn: AsyncConnection, location_id: str, calendar_id: str
) -> tuple[Calendar, str]:
    """The calendar and its official fields' JSON text; 404 unless it is in the location."""
    found = (
        await directory.calendar_with_fields_text(conn, location_id, calendar_id)
        if is_id(calendar_id)
        else None
    )
    if found is None:
        raise NotFound("Calendar not found")
    return found


def _parse(text: str) -> dict[str, Any]:
    """A calendar's stored fields (orjson; the standard library for what orjson refuses,
    such as an integer past 64 bits stored before those were refused)."""
    try:
        found = orjson.loads(text)
    except orjson.JSONDecodeError:
        found = json.loads(text)
    return found if isinstance(found, dict) else {}


def _intervals(events: Sequence[Event]) -> list[Interval]:
    return [(e.start_ms, e.end_ms) for e in events]


async def _check_targets(
    conn: AsyncConnection, location_id: str, asked: dict[TargetKind, list[str]]
) -> None:
    """404 naming every target that is not in the location."""
    missing = []
    for kind, ids in asked.items():
        for target in ids:
            one = Targets.one(kind, target)
            if not is_id(target) or await block_store.missing_targets(conn, location_id, one):
                missing.append(f"{kind.capitalize()} {target} not found")
    if missing:
        raise NotFound(*missing)


def _clip(busy: list[Interval], window: Interval) -> list[Interval]:
    return [(max(s, window[0]), min(e, window[1])) for s, e in slots.merge(busy)]
