"""Blocked slots: create, edit and delete blocks, series and instances; query a window.

Ids: a block (one-off or series master) has a 20-character id; an instance of a series is
`<masterId>_<originalStartMillis>_<durationSeconds>`, stable after the instance is edited.
Editing an instance stores an override keyed by its original start; deleting one adds an
EXDATE. Editing a series' rule or start keeps the overrides and the stored EXDATEs that are
still occurrences of the new series (EXDATEs sent with the new rule are added to them): an
acknowledged instance delete is never undone by a series edit, even a concurrent one.

Writers to one block queue on its row (`get_block(lock=True)`; SQLite's write lock), and
the CPU-bound work — rule checks, expansion — runs in worker threads with a work budget, so
the event loop keeps answering other requests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock import recurrence
from slotblock.config import Settings
from slotblock.errors import InvalidInput, NotFound, Unprocessable
from slotblock.model import Block, Event, Override, Principal
from slotblock.recurrence import RecurrenceError, Series
from slotblock.rrule_work import Budget
from slotblock.service.auth import check_location, require_scope
from slotblock.service.expansion_cache import ExpansionCache
from slotblock.service.write_retry import until_written
from slotblock.store import Store, directory, locks
from slotblock.store import blocks as block_store
from slotblock.tokens import is_id, new_id

READ = "calendars/events.readonly"
WRITE = "calendars/events.write"
TEXT_FIELDS = ("title", "description", "notes", "address")
_MISSING = {
    "calendarId": "Calendar not found",
    "userId": "User not found",
    "groupId": "Group not found",
}


@dataclass(frozen=True)
class BlockInput:
    """A create or edit body, shape-checked by the API; None means "not given"."""

    location_id: str
    calendar_id: str | None = None
    assigned_user_id: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    rrule: str | Sequence[str] | None = None
    title: str | None = None
    description: str | None = None
    notes: str | None = None
    address: str | None = None

    def texts(self) -> dict[str, Any]:
        return {name: value for name in TEXT_FIELDS if (value := getattr(self, name)) is not None}


@dataclass(frozen=True)
class WindowQuery:
    location_id: str
    start_ms: int
    end_ms: int
    calendar_id: str | None = None
    user_id: str | None = None
    group_id: str | None = None


class BlockService:
    """The blocked-slots use cases over one store."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.expanded = ExpansionCache(settings.expansion_cache_bytes)

    # --- query ---------------------------------------------------------------------------

    async def query(self, principal: Principal, q: WindowQuery) -> list[Event]:
        """Every block and instance overlapping [start, end), ordered by start, then id."""
        require_scope(principal, READ)
        check_location(principal, q.location_id)
        if not (q.calendar_id or q.user_id or q.group_id):
            raise InvalidInput("Either of calendarId, userId or groupId is required")
        self._check_window(q.start_ms, q.end_ms)
        filters = {
            "calendar_id": q.calendar_id,
            "user_id": q.user_id,
            "group_id": q.group_id,
        }
        async with self.store.read() as conn:
            found = await block_store.blocks_in_window(
                conn, q.location_id, q.start_ms, q.end_ms, **filters
            )
            if not found:
                missing = await block_store.filter_targets_exist(conn, q.location_id, **filters)
                if missing:
                    raise NotFound(*(_MISSING[name] for name in missing))
        return await anyio.to_thread.run_sync(self._expand, found, q.start_ms, q.end_ms)

    def _expand(self, found: list[Block], start: int, end: int) -> list[Event]:
        """The events of `found` in [start, end), within this request's work budget."""
        budget = Budget(self.settings.query_work)
        events: list[Event] = []
        for block in found:
            events.extend(self._events_in(block, start, end, len(events), budget))
        events.sort(key=lambda e: (e.start_ms, e.id))
        return events

    def _check_window(self, start_ms: int, end_ms: int) -> None:
        if end_ms <= start_ms:
            raise Unprocessable("endTime must be after startTime")
        if end_ms - start_ms > self.settings.max_window_days * recurrence.DAY_MS:
            raise Unprocessable(
                f"the window is longer than {self.settings.max_window_days} days; query less"
            )

    def _events_in(
        self, block: Block, start: int, end: int, already: int, budget: Budget
    ) -> list[Event]:
        room = self.settings.max_events - already
        too_many = Unprocessable(
            f"more than {self.settings.max_events} events in the window; query a shorter one"
        )
        if block.rrule is None:
            events = [master_event(block)]
        else:
            try:
                events = self._instances(block, start, end, budget)
            except recurrence.TooManyInstances as exc:
                raise too_many from exc
            except recurrence.TooMuchWork as exc:
                raise Unprocessable(
                    "expanding the recurring blocks of this window needs more than "
                    f"{self.settings.query_work} units of work; query a shorter window"
                ) from exc
        if len(events) > room:
            raise too_many
        return events

    def _instances(self, block: Block, start: int, end: int, budget: Budget) -> list[Event]:
        # The calendar's group is joined in, not stored: it belongs in the key too.
        key = (block.location_id, block.id, block.version, block.group_id, start, end)
        found = self.expanded.get(key)
        if found is None:
            found = instances(block, start, end, self.settings.max_events, budget)
            self.expanded.put(key, found, block)
        return found

    # --- create --------------------------------------------------------------------------

    async def create(self, principal: Principal, body: BlockInput) -> Event:
        require_scope(principal, WRITE)
        check_location(principal, body.location_id)
        _one_owner(body, required=True)
        if body.start_ms is None or body.end_ms is None:
            raise InvalidInput(
                *(f"{n} should not be empty" for n, v in _times(body).items() if v is None)
            )
        now = self.clock()
        block = Block(
            location_id=body.location_id,
            id=new_id(),
            calendar_id=body.calendar_id,
            assigned_user_id=body.assigned_user_id,
            title=body.title or "",
            description=body.description or "",
            notes=body.notes or "",
            address=body.address or "",
            start_ms=body.start_ms,
            end_ms=body.end_ms,
            timezone=principal.location.timezone,
            rrule=None,
            last_start_ms=None,
            overrides=(),
            created_ms=now,
            updated_ms=now,
        )
        block = await anyio.to_thread.run_sync(self._with_rule, block, body.rrule)
        async with self.store.begin() as conn:
            group_id = await self._check_owner(conn, block)
            await block_store.insert_block(conn, block)
        return master_event(replace(block, group_id=group_id))

    async def _check_owner(self, conn: AsyncConnection, block: Block) -> str | None:
        """404 unless the block's calendar or user is in its location; the calendar's group."""
        # Held until commit: a concurrent delete of the calendar or user waits, then sees
        # the block (422) — or it went first and this is a 404, never a foreign-key 500.
        if block.calendar_id is not None:
            held = await locks.hold_calendar(conn, block.location_id, block.calendar_id)
            calendar = await directory.get_calendar(conn, block.location_id, block.calendar_id)
            if calendar is None or not held:
                raise NotFound("Calendar not found")
            return calendar.group_id
        users = await locks.hold_users(conn, block.location_id, [block.assigned_user_id or ""])
        if not users:
            raise NotFound("User not found")
        return None

    def _with_rule(self, block: Block, rrule: str | Sequence[str] | None) -> Block:
        """The block with its times checked and `rrule` parsed ('' or [] removes the rule)."""
        if block.end_ms <= block.start_ms:
            raise Unprocessable("endTime must be after startTime")
        if not rrule:
            return replace(block, rrule=None, last_start_ms=None, overrides=())
        work = self.settings.rule_work
        try:
            rule = recurrence.parse_rule(
                rrule,
                start_ms=block.start_ms,
                zone_name=block.timezone,
                max_count=self.settings.max_count,
                work=work,
                max_exdates=self.settings.max_exceptions,
            )
            last = recurrence.last_start(rule, block.start_ms, block.timezone, work)
        except RecurrenceError as exc:
            raise Unprocessable(f"rrule: {exc}") from exc
        return replace(block, rrule=rule.text, last_start_ms=last)

    # --- edit ----------------------------------------------------------------------------

    async def edit(self, principal: Principal, event_id: str, body: BlockInput) -> Event:
        require_scope(principal, WRITE)
        check_location(principal, body.location_id)
        _one_owner(body, required=False)
        master_id, original = parse_event_id(event_id)

        async def attempt() -> Event | None:
            async with self.store.begin() as conn:
                block, version = await self._load(conn, principal, master_id)
                if original is None:
                    changed = await anyio.to_thread.run_sync(self._edit_block, block, body)
                else:
                    changed = self._edit_instance(block, event_id, original, body)
                if _owner_key(changed) != _owner_key(block):
                    changed = replace(changed, group_id=await self._check_owner(conn, changed))
                if not await block_store.replace_block(conn, changed, version):
                    return None
            return master_event(changed) if original is None else instance(changed, original)

        return await until_written(attempt, self.settings.write_deadline_seconds)

    async def _load(
        self, conn: AsyncConnection, principal: Principal, block_id: str
    ) -> tuple[Block, int]:
        """The block, locked for this write (writers to one block take turns)."""
        found = await block_store.get_block(conn, principal.location.id, block_id, lock=True)
        if found is None:
            raise NotFound("Event not found")
        return found

    def _edit_block(self, block: Block, body: BlockInput) -> Block:
        """The block or whole series after `body`; overrides no longer matching are dropped."""
        changed = replace(
            block,
            **body.texts(),
            **_owner_fields(_owner(body) or _owner_key(block)),
            start_ms=_given(body.start_ms, block.start_ms),
            end_ms=_given(body.end_ms, block.end_ms),
            updated_ms=self.clock(),
        )
        rrule = body.rrule if body.rrule is not None else block.rrule
        changed = self._with_rule(changed, rrule)
        if changed.rrule is None:
            return changed
        series = series_of(changed)
        kept = tuple(
            o for o in block.overrides if recurrence.is_occurrence(series, o.original_start_ms)
        )
        rule = series.rule.excluding(*_kept_exdates(block, series))
        self._check_exceptions(rule, kept)
        return replace(changed, rrule=rule.text, overrides=kept)

    def _check_exceptions(self, rule: recurrence.Rule, overrides: tuple[Override, ...]) -> None:
        most = self.settings.max_exceptions
        if len(rule.exdates) + len(overrides) > most:
            raise Unprocessable(
                f"a series may hold at most {most} exceptions (deleted or changed instances); "
                "end this series and start a new one"
            )

    def _edit_instance(self, block: Block, event_id: str, original: int, body: BlockInput) -> Block:
        _check_instance(block, event_id, original)
        if body.rrule is not None:
            raise Unprocessable("rrule can be changed on the series (its master id) only")
        if (owner := _owner(body)) and owner != _owner_key(block):
            raise Unprocessable("an instance cannot move to another calendar or user")
        current = next((o for o in block.overrides if o.original_start_ms == original), None)
        start = _given(body.start_ms, current.start_ms if current else original)
        end = _given(body.end_ms, current.end_ms if current else original + block.duration_ms)
        if end <= start:
            raise Unprocessable("endTime must be after startTime")
        fields = {**(current.fields if current else {}), **body.texts()}
        override = Override(original, start, end, fields)
        others = tuple(o for o in block.overrides if o.original_start_ms != original)
        overrides = (*others, override)
        self._check_exceptions(recurrence.stored_rule(block.rrule or ""), overrides)
        return replace(block, overrides=overrides, updated_ms=self.clock())

    # --- delete --------------------------------------------------------------------------

    async def delete(self, principal: Principal, event_id: str) -> None:
        require_scope(principal, WRITE)
        master_id, original = parse_event_id(event_id)

        async def attempt() -> bool | None:
            async with self.store.begin() as conn:
                block, version = await self._load(conn, principal, master_id)
                if original is None:
                    await block_store.delete_block(conn, block.location_id, block.id)
                    return True
                _check_instance(block, event_id, original)
                rule = recurrence.stored_rule(block.rrule or "").excluding(original)
                overrides = tuple(o for o in block.overrides if o.original_start_ms != original)
                self._check_exceptions(rule, overrides)
                changed = replace(
                    block, rrule=rule.text, overrides=overrides, updated_ms=self.clock()
                )
                return True if await block_store.replace_block(conn, changed, version) else None

        await until_written(attempt, self.settings.write_deadline_seconds)


# --- pure helpers ------------------------------------------------------------------------


def parse_event_id(event_id: str) -> tuple[str, int | None]:
    """(block id, original start of the instance or None). 404 for a malformed id."""
    parts = event_id.split("_")
    if not is_id(parts[0]):
        raise NotFound("Event not found")
    if len(parts) == 1:
        return event_id, None
    if len(parts) == 3 and all(p.lstrip("-").isdigit() for p in parts[1:]) and len(parts[1]) < 17:
        return parts[0], int(parts[1])
    raise NotFound("Event not found")


def instance_id(block: Block, original_ms: int) -> str:
    return f"{block.id}_{original_ms}_{block.duration_ms // 1000}"


def series_of(block: Block) -> Series:
    return Series(
        start_ms=block.start_ms,
        duration_ms=block.duration_ms,
        zone=block.timezone,
        rule=recurrence.stored_rule(block.rrule or ""),
        last_start_ms=block.last_start_ms,
    )


def master_event(block: Block) -> Event:
    """The event of a one-off block, or of a series as a whole (its first occurrence)."""
    return Event(block, block.id, block.start_ms, block.end_ms, None, {})


def instances(
    block: Block, start: int, end: int, limit: int, budget: Budget | None = None
) -> list[Event]:
    """The instances of a series overlapping [start, end), overrides applied."""
    series = series_of(block)
    moved = {o.original_start_ms: o for o in block.overrides}
    events = []
    for original in recurrence.overlapping(series, start, end, limit, budget):
        override = moved.pop(original, None)
        events.append(_instance(block, original, override))
    for override in moved.values():  # moved into the window from elsewhere
        events.append(_instance(block, override.original_start_ms, override))
    return [e for e in events if e.start_ms < end and e.end_ms > start]


def instance(block: Block, original: int) -> Event:
    """The instance of a series that was, originally, the occurrence at `original`."""
    override = next((o for o in block.overrides if o.original_start_ms == original), None)
    return _instance(block, original, override)


def _instance(block: Block, original: int, override: Override | None) -> Event:
    event_id = instance_id(block, original)
    if override is None:
        return Event(block, event_id, original, original + block.duration_ms, original, {})
    return Event(block, event_id, override.start_ms, override.end_ms, original, override.fields)


def _kept_exdates(old: Block, new: Series) -> list[int]:
    """The EXDATEs stored on `old` that still name an occurrence of the new series."""
    if old.rrule is None:
        return []
    bare = replace(new, rule=replace(new.rule, exdates=frozenset()))
    stored = recurrence.stored_rule(old.rrule).exdates - new.rule.exdates
    return [ms for ms in sorted(stored) if recurrence.is_occurrence(bare, ms)]


def _check_instance(block: Block, event_id: str, original: int) -> None:
    if block.rrule is None or instance_id(block, original) != event_id:
        raise NotFound("Event not found")
    if not recurrence.is_occurrence(series_of(block), original):
        raise NotFound("Event not found")


def _one_owner(body: BlockInput, *, required: bool) -> None:
    if body.calendar_id is not None and body.assigned_user_id is not None:
        raise InvalidInput("Either calendarId or assignedUserId can be set, not both.")
    if required and body.calendar_id is None and body.assigned_user_id is None:
        raise InvalidInput("Either calendarId or assignedUserId is required")


def _owner(body: BlockInput) -> tuple[str | None, str | None] | None:
    """The (calendar, user) owner the body names, or None when it names none."""
    if body.calendar_id is None and body.assigned_user_id is None:
        return None
    return body.calendar_id, body.assigned_user_id


def _owner_fields(owner: tuple[str | None, str | None]) -> dict[str, Any]:
    return {"calendar_id": owner[0], "assigned_user_id": owner[1]}


def _owner_key(block: Block) -> tuple[str | None, str | None]:
    return block.calendar_id, block.assigned_user_id


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


def _times(body: BlockInput) -> dict[str, int | None]:
    return {"startTime": body.start_ms, "endTime": body.end_ms}
