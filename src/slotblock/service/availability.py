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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core import recurrence, slots
from slotblock.core.errors import (
    InvalidInput,
    NotFound,
    ScopeMissing,
    TooManyInstances,
    Unprocessable,
)
from slotblock.core.instances import instances
from slotblock.core.isotime import parse_iso, zone
from slotblock.core.model import (
    CALENDARS_READ,
    EVENTS_READ,
    FREEBUSY,
    Block,
    Calendar,
    Principal,
    TargetKind,
    Targets,
)
from slotblock.core.slots import Interval
from slotblock.core.tokens import is_id
from slotblock.service.auth import NO_SCOPE, check_location, require_scope
from slotblock.service.calendars import calendar_in
from slotblock.store import Store, directory
from slotblock.store import blocks as block_store

EARLIEST_MS = parse_iso("1900-01-01T00:00:00Z")
LATEST_MS = parse_iso("3000-01-01T00:00:00Z")
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


class _Budget:
    """The events one request may expand (SLOTBLOCK_MAX_EVENTS), shared by its queries."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def error(self) -> Unprocessable:
        return Unprocessable(f"more than {self.limit} events in the window; query a shorter one")

    def intervals(self, found: Sequence[Block], start: int, end: int) -> list[Interval]:
        out: list[Interval] = []
        for block in found:
            if block.rrule is None:
                out.append((block.start_ms, block.end_ms))
                continue
            try:
                events = instances(block, start, end, self.left)
            except TooManyInstances as exc:
                raise self.error() from exc
            out.extend((e.start_ms, e.end_ms) for e in events)
        self.left -= len(out)
        if self.left < 0:
            raise self.error()
        return out


class AvailabilityService:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    # --- free slots ----------------------------------------------------------------------

    async def free_slots(self, principal: Principal, q: SlotsQuery) -> dict[str, list[str]]:
        """The official map `{"YYYY-MM-DD": ["<ISO start>", …]}` in the asked zone."""
        require_scope(principal, CALENDARS_READ)
        if q.end_ms < SECONDS_LOOKALIKE:
            raise Unprocessable(SECONDS_HINT)
        days = self.settings.max_slot_window_days
        _check_window(q.start_ms, q.end_ms, days, "startDate", "endDate")
        location = principal.location
        async with self.store.read() as conn:
            calendar = await calendar_in(conn, location.id, q.calendar_id)
            members = await _members(conn, calendar, q.user_ids)
            if not calendar.is_active:
                return {}
            rules = slots.rules_of(calendar.extra)
            span = (
                q.start_ms - rules.pre_buffer_ms,
                q.end_ms + rules.duration_ms + rules.post_buffer_ms,
            )
            busy = await self._busy_by_member(conn, calendar, members, span)
        schedule = slots.Schedule(
            availability=slots.availability_of(calendar.extra),
            rules=rules,
            tz=zone(location.timezone),
        )
        starts = slots.free_slots(
            schedule,
            (q.start_ms, q.end_ms),
            busy,
            self.clock(),
            "all" if calendar.calendar_type == "collective" else "any",
        )
        return slots.by_local_date(starts, zone(q.timezone or location.timezone))

    async def _busy_by_member(
        self, conn: AsyncConnection, calendar: Calendar, members: Sequence[str], span: Interval
    ) -> list[list[Interval]]:
        """Each member's blocked time (the calendar's plus their own); the calendar's alone
        when it has no team members."""
        budget = _Budget(self.settings.max_events)
        location_id = calendar.location_id
        own = await _busy(conn, budget, location_id, span, Targets(calendar_id=calendar.id))
        mine = [
            own + await _busy(conn, budget, location_id, span, Targets(user_id=m)) for m in members
        ]
        return mine or [own]

    # --- free/busy -----------------------------------------------------------------------

    async def free_busy(self, principal: Principal, q: FreeBusyQuery) -> FreeBusy:
        if not principal.scopes & {FREEBUSY, EVENTS_READ}:
            raise ScopeMissing(NO_SCOPE)
        check_location(principal, q.location_id)
        if not (q.calendar_ids or q.user_ids or q.group_ids):
            raise InvalidInput("Either of calendarId, userId or groupId is required")
        _check_window(q.start_ms, q.end_ms, self.settings.max_window_days, "startTime", "endTime")
        asked: dict[TargetKind, dict[str, None]] = {
            "calendar": dict.fromkeys(q.calendar_ids),
            "user": dict.fromkeys(q.user_ids),
            "group": dict.fromkeys(q.group_ids),
        }
        window = (q.start_ms, q.end_ms)
        budget = _Budget(self.settings.max_events)
        answer: dict[TargetKind, dict[str, list[Interval]]] = {}
        async with self.store.read() as conn:
            await _check_targets(conn, q.location_id, asked)
            for kind, ids in asked.items():
                answer[kind] = {
                    target: _clip(
                        await _busy(conn, budget, q.location_id, window, Targets.one(kind, target)),
                        window,
                    )
                    for target in ids
                }
        return FreeBusy(answer["calendar"], answer["user"], answer["group"])


# --- helpers -----------------------------------------------------------------------------


def _check_window(start: int, end: int, days: int, start_name: str, end_name: str) -> None:
    if end <= start:
        raise Unprocessable(f"{end_name} must be after {start_name}")
    if start < EARLIEST_MS or end > LATEST_MS:
        raise Unprocessable(f"{start_name} and {end_name} must lie between 1900 and 3000")
    if end - start > days * recurrence.DAY_MS:
        raise Unprocessable(f"the window is longer than {days} days; query less")


async def _members(conn: AsyncConnection, calendar: Calendar, asked: Sequence[str]) -> list[str]:
    """The team members concerned: all of them, or those asked for (each must be one)."""
    team = [str(m["userId"]) for m in calendar.team_members]
    if not asked:
        return team
    wanted = list(dict.fromkeys(asked))
    known = await directory.existing_users(conn, calendar.location_id, wanted)
    if missing := [u for u in wanted if u not in known]:
        raise NotFound(*(f"User {u} not found" for u in missing))
    if strangers := [u for u in wanted if u not in team]:
        raise Unprocessable(*(f"User {u} is not a team member of the calendar" for u in strangers))
    return wanted


async def _busy(
    conn: AsyncConnection, budget: _Budget, location_id: str, window: Interval, target: Targets
) -> list[Interval]:
    """Busy intervals of one target (calendar, user or group) overlapping `window`."""
    start, end = window
    found = await block_store.blocks_in_window(conn, location_id, start, end, target)
    return budget.intervals(found, *window)


async def _check_targets(
    conn: AsyncConnection, location_id: str, asked: dict[TargetKind, dict[str, None]]
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
