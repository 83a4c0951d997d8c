"""Blocked slots: create, edit and delete blocks, series and instances; query a window.

The rules of ids, instances and overrides are pure and live in `slotblock.core.instances`; this
module adds scopes, tenancy, the stored data and transactions. Editing a series' rule or
start keeps the overrides and the stored EXDATEs that are still occurrences of the new series
(EXDATEs sent with the new rule are added to them): an acknowledged instance delete is never
undone by a series edit, even a concurrent one.

Writers to one block queue on its row (`get_block(lock=True)`; SQLite's write lock), and
the CPU-bound work — rule checks, expansion — runs in worker threads with a work budget, so
the event loop keeps answering other requests. Only a window whose series were all expanded
before, over the same weeks, and that holds few events is assembled on the event loop: no
walk, a bounded copy of cached lists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core import recurrence
from slotblock.core.errors import (
    InvalidInput,
    NotFound,
    RecurrenceError,
    TooManyInstances,
    TooMuchWork,
    Unprocessable,
)
from slotblock.core.etags import check_if_match
from slotblock.core.instances import (
    check_instance as _check_instance,
)
from slotblock.core.instances import (
    check_one_owner,
    edit_instance,
    instance,
    keep_occurring,
    master_event,
    parse_event_id,
    with_owner,
)
from slotblock.core.instances import (
    owner_of as _owner_key,
)
from slotblock.core.model import (
    EVENTS_READ,
    EVENTS_WRITE,
    TEXT_FIELDS,
    Block,
    Event,
    Override,
    Principal,
    Targets,
)
from slotblock.core.rrule_work import Budget
from slotblock.core.tokens import new_id
from slotblock.service.auth import check_location, require_scope
from slotblock.service.caches.week_expansion import WeekExpansion
from slotblock.service.changes import ChangeLog
from slotblock.service.cpu import CpuWork
from slotblock.service.write_retry import until_written
from slotblock.store import Store, block_create, locks
from slotblock.store import blocks as block_store
from slotblock.store.window_query import Keys, window_reader

INLINE_EVENTS = 1_000  # the most events a query assembles on the event loop from cached weeks
EARLIEST_MS = recurrence.DAY_MS * -25_567  # 1900-01-01T00:00:00Z
LATEST_MS = recurrence.DAY_MS * 376_200  # 3000-01-01T00:00:00Z


@dataclass(frozen=True)
class BlockInput:
    """A create or edit body, shape-checked by the API; None means "not given"."""

    location_id: str
    calendar_id: str | None = None
    assigned_user_id: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    rrule: str | Sequence[str] | None = None
    texts: Mapping[str, str] = field(default_factory=dict)  # the TEXT_FIELDS given


@dataclass(frozen=True)
class WindowQuery:
    location_id: str
    start_ms: int
    end_ms: int
    targets: Targets


# Called in the create's transaction with the new event (an Idempotency-Key's answer).
OnCreated = Callable[[AsyncConnection, Event], Awaitable[None]]


class BlockService:
    """The blocked-slots use cases over one store."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.changes = ChangeLog(clock)  # change number, change log, webhook outbox
        self.cpu = CpuWork(settings.cpu_threads)  # every CPU job of the process's reads
        # A series' instances depend only on its stored version: kept per week, in bytes.
        self.expansion = WeekExpansion(settings.expansion_cache_bytes)
        self.reader = (
            window_reader(store, settings.pool_size, settings.block_cache_bytes)
            if settings.direct_reads
            else None
        )

    # --- query ---------------------------------------------------------------------------

    async def query(
        self, principal: Principal, q: WindowQuery, keys: Keys | None = None
    ) -> list[Event]:
        """Every block and instance overlapping [start, end), ordered by start, then id.
        `keys`: the window's block keys, read already by `reader.version_and_keys`."""
        return await self.events_of(await self.window_blocks(principal, q, keys), q)

    async def window_blocks(
        self, principal: Principal, q: WindowQuery, keys: Keys | None = None
    ) -> list[Block]:
        """The query's first half: checked, then the stored blocks that can overlap the
        window (404 for a missing filter target)."""
        self.check_query(principal, q)
        return await self._blocks_in_window(q, keys)

    async def events_of(self, found: list[Block], q: WindowQuery) -> list[Event]:
        """The query's second half: the events of `window_blocks` in the window."""
        if not any(block.rrule for block in found):
            return self._expand(found, q.start_ms, q.end_ms)
        known = self._known_events(found, q.start_ms, q.end_ms)
        if known is not None:
            return known
        # Series are expanded in a worker thread, so the event loop keeps serving.
        return await self.cpu.run(self._expand, found, q.start_ms, q.end_ms)

    def check_query(self, principal: Principal, q: WindowQuery) -> None:
        """The query's scope, location, filters and window, checked before any read."""
        require_scope(principal, EVENTS_READ)
        check_location(principal, q.location_id)
        targets = q.targets
        if not (targets.calendar_id or targets.user_id or targets.group_id):
            raise InvalidInput("Either of calendarId, userId or groupId is required")
        self.check_window(q.start_ms, q.end_ms)

    def check_window(
        self,
        start_ms: int,
        end_ms: int,
        names: tuple[str, str] = ("startTime", "endTime"),
        days: int | None = None,
    ) -> None:
        """The one window check of every read over time (blocked slots, free/busy, free
        slots): after its start, within 1900-3000, at most `days` (max_window_days) long."""
        start_name, end_name = names
        days = days or self.settings.max_window_days
        if end_ms <= start_ms:
            raise Unprocessable(f"{end_name} must be after {start_name}")
        if start_ms < EARLIEST_MS or end_ms > LATEST_MS:
            raise Unprocessable(f"{start_name} and {end_name} must lie between 1900 and 3000")
        if end_ms - start_ms > days * recurrence.DAY_MS:
            raise Unprocessable(f"the window is longer than {days} days; query less")

    def _known_events(self, found: list[Block], start: int, end: int) -> list[Event] | None:
        """`_expand(found, start, end)` when every series' weeks are in the expansion cache
        and the answer is small (at most INLINE_EVENTS): work short enough for the event
        loop, which a hop to a worker thread would cost more than. Else None."""
        most = min(INLINE_EVENTS, self.settings.max_events)
        events: list[Event] = []
        for block in found:
            if block.rrule is None:
                events.append(master_event(block))
            else:
                cached = self.expansion.cached(block, start, end)
                if cached is None:
                    return None
                events.extend(cached)
            if len(events) > most:
                return None  # the worker thread's path gives the answer or the error
        events.sort(key=lambda e: (e.start_ms, e.id))
        return events

    def _expand(self, found: list[Block], start: int, end: int) -> list[Event]:
        """The events of `found` in [start, end), within this request's work budget."""
        return self.expand([found], start, end, Budget(self.settings.query_work))[0]

    def expand(
        self, groups: Sequence[Sequence[Block]], start: int, end: int, budget: Budget
    ) -> list[list[Event]]:
        """The events of each group of blocks in [start, end), each group ordered by start
        and id: one expansion for every read (blocked slots, free/busy, free slots), from
        the expansion cache, charged to one `budget`, with at most `max_events` events over
        all the groups (422 past either). CPU work: call it in a worker thread unless no
        block is a series."""
        out: list[list[Event]] = []
        count = 0
        for found in groups:
            events: list[Event] = []
            for block in found:
                events.extend(self._events_in(block, start, end, count + len(events), budget))
            events.sort(key=lambda e: (e.start_ms, e.id))
            count += len(events)
            out.append(events)
        return out

    async def blocks_of_targets(
        self, location_id: str, start: int, end: int, targets: Sequence[Targets]
    ) -> list[list[Block]]:
        """The stored blocks that can overlap the window, for each target (filters that
        `check_targets` or the caller found to exist): on the fast path's reader where it
        is on, else all in one connection."""
        if self.reader is not None:
            return [
                await self.reader.blocks_in_window(location_id, start, end, target)
                for target in targets
            ]
        async with self.store.read() as conn:
            return [
                await block_store.blocks_in_window(conn, location_id, start, end, target)
                for target in targets
            ]

    async def _blocks_in_window(self, q: WindowQuery, keys: Keys | None) -> list[Block]:
        """The stored blocks that can overlap the window; 404 for a missing filter target."""
        if self.reader is not None:
            found = await self.reader.blocks_in_window(
                q.location_id, q.start_ms, q.end_ms, q.targets, keys
            )
            if found:
                return found
        async with self.store.read() as conn:
            if self.reader is None:
                found = await block_store.blocks_in_window(
                    conn, q.location_id, q.start_ms, q.end_ms, q.targets
                )
            if not found:
                missing = await block_store.missing_targets(conn, q.location_id, q.targets)
                if missing:
                    raise NotFound(*(f"{kind.capitalize()} not found" for kind in missing))
        return found

    async def get(self, principal: Principal, event_id: str) -> Event:
        """One block, series master or instance by its id (a deleted occurrence: 404)."""
        require_scope(principal, EVENTS_READ)
        master_id, original = parse_event_id(event_id)
        async with self.store.read() as conn:
            block, _ = await self._load(conn, principal, master_id)
        if original is None:
            return master_event(block)
        _check_instance(block, event_id, original)
        return instance(block, original)

    def _events_in(
        self, block: Block, start: int, end: int, already: int, budget: Budget
    ) -> list[Event]:
        room = self.settings.max_events - already
        if block.rrule is None:
            events = [master_event(block)]
        else:
            try:
                events = self._instances(block, start, end, budget)
            except TooManyInstances as exc:
                raise self._too_many() from exc
            except TooMuchWork as exc:
                raise Unprocessable(
                    "expanding the recurring blocks of this window needs more than "
                    f"{self.settings.query_work} units of work; query a shorter window"
                ) from exc
        if len(events) > room:
            raise self._too_many()
        return events

    def _too_many(self) -> Unprocessable:
        return Unprocessable(
            f"more than {self.settings.max_events} events in the window; query a shorter one"
        )

    def _instances(self, block: Block, start: int, end: int, budget: Budget) -> list[Event]:
        return self.expansion.instances(block, start, end, self.settings.max_events, budget)

    # --- create --------------------------------------------------------------------------

    async def create(
        self, principal: Principal, body: BlockInput, on_created: OnCreated | None = None
    ) -> Event:
        require_scope(principal, EVENTS_WRITE)
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
            **_texts(body),
            start_ms=body.start_ms,
            end_ms=body.end_ms,
            timezone=principal.location.timezone,
            rrule=None,
            last_start_ms=None,
            overrides=(),
            created_ms=now,
            updated_ms=now,
        )
        if body.rrule:  # parsing and checking a rule is CPU work: in a worker thread
            block = await self.cpu.run(self._with_rule, block, body.rrule)
        else:
            block = self._with_rule(block, body.rrule)
        async with self.store.begin() as conn:
            group_id = await self._check_owner_and_insert(conn, block)
            block = replace(block, group_id=group_id, version=1)
            await self.changes.record(conn, None, block)
            if on_created is not None:
                await on_created(conn, master_event(block))
        return master_event(block)

    async def _check_owner_and_insert(self, conn: AsyncConnection, block: Block) -> str | None:
        """The block inserted once its owner is held (404 if missing); its calendar's group.
        On PostgreSQL a calendar's block is held and inserted in one statement."""
        if block.calendar_id is not None and block_create.one_statement(conn):
            held, group_id = await block_create.hold_calendar_and_insert(conn, block)
            if not held:
                raise NotFound("Calendar not found")
            return group_id
        group_id = await self._check_owner(conn, block)
        await block_store.insert_block(conn, block)
        return group_id

    async def _check_owner(self, conn: AsyncConnection, block: Block) -> str | None:
        """404 unless the block's calendar or user is in its location; the calendar's group."""
        # Held until commit: a concurrent delete of the calendar or user waits, then sees
        # the block (422) — or it went first and this is a 404, never a foreign-key 500.
        if block.calendar_id is not None:
            held, group_id = await locks.hold_calendar_group(
                conn, block.location_id, block.calendar_id
            )
            if not held:
                raise NotFound("Calendar not found")
            return group_id
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

    async def edit(
        self, principal: Principal, event_id: str, body: BlockInput, if_match: str | None = None
    ) -> Event:
        require_scope(principal, EVENTS_WRITE)
        check_location(principal, body.location_id)
        _one_owner(body, required=False)
        master_id, original = parse_event_id(event_id)

        async def attempt() -> Event | None:
            async with self.store.begin() as conn:
                block, version = await self._load_writable(conn, principal, master_id)
                check_if_match(if_match, block)
                if original is None:
                    changed = await self.cpu.run(self._edit_block, block, body)
                else:
                    changed = self._edit_instance(block, event_id, original, body)
                if _owner_key(changed) != _owner_key(block):
                    changed = replace(changed, group_id=await self._check_owner(conn, changed))
                if not await block_store.replace_block(conn, changed, version):
                    return None
                changed = replace(changed, version=version + 1)
                await self.changes.record(conn, block, changed, event_id)
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

    async def _load_writable(
        self, conn: AsyncConnection, principal: Principal, block_id: str
    ) -> tuple[Block, int]:
        """`_load`, and 422 for a block synced from a connected calendar (read-only)."""
        found = await self._load(conn, principal, block_id)
        if found[0].connection_id is not None:
            raise Unprocessable(
                f"this blocked slot comes from a connected calendar ({found[0].source}, "
                f"connection {found[0].connection_id}): change it in its source calendar"
            )
        return found

    def _edit_block(self, block: Block, body: BlockInput) -> Block:
        """The block or whole series after `body`; overrides no longer matching are dropped."""
        texts: dict[str, Any] = dict(body.texts)
        changed = replace(
            with_owner(block, _owner(body)),
            **texts,
            start_ms=_given(body.start_ms, block.start_ms),
            end_ms=_given(body.end_ms, block.end_ms),
            updated_ms=self.clock(),
        )
        rrule = body.rrule if body.rrule is not None else block.rrule
        changed = keep_occurring(self._with_rule(changed, rrule), block)
        if changed.rrule is not None:
            self._check_exceptions(recurrence.stored_rule(changed.rrule), changed.overrides)
        return changed

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
        if (owner := _owner(body)) != (None, None) and owner != _owner_key(block):
            raise Unprocessable("an instance cannot move to another calendar or user")
        times = (body.start_ms, body.end_ms)
        changed = edit_instance(block, original, times, body.texts, self.clock())
        self._check_exceptions(recurrence.stored_rule(block.rrule or ""), changed.overrides)
        return changed

    # --- delete --------------------------------------------------------------------------

    async def delete(
        self, principal: Principal, event_id: str, if_match: str | None = None
    ) -> None:
        require_scope(principal, EVENTS_WRITE)
        master_id, original = parse_event_id(event_id)

        async def attempt() -> bool | None:
            async with self.store.begin() as conn:
                block, version = await self._load_writable(conn, principal, master_id)
                check_if_match(if_match, block)
                if original is None:
                    if await block_store.delete_block(conn, block.location_id, block.id):
                        await self.changes.record(conn, block, None)  # once, if concurrent
                    return True
                _check_instance(block, event_id, original)
                rule = recurrence.stored_rule(block.rrule or "").excluding(original)
                overrides = tuple(o for o in block.overrides if o.original_start_ms != original)
                self._check_exceptions(rule, overrides)
                changed = replace(
                    block, rrule=rule.text, overrides=overrides, updated_ms=self.clock()
                )
                if not await block_store.replace_block(conn, changed, version):
                    return None
                changed = replace(changed, version=version + 1)
                await self.changes.record(conn, block, changed, event_id, instance_deleted=True)
                return True

        await until_written(attempt, self.settings.write_deadline_seconds)


# --- helpers ------------------------------------------------------------------------------


def _owner(body: BlockInput) -> tuple[str | None, str | None]:
    """The (calendar, user) owner the body names; (None, None) when it names none."""
    return body.calendar_id, body.assigned_user_id


def _one_owner(body: BlockInput, *, required: bool) -> None:
    check_one_owner(_owner(body), required=required)


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


def _texts(body: BlockInput) -> dict[str, Any]:
    """Every text field of a new block: as given, else empty."""
    return {name: body.texts.get(name) or "" for name in TEXT_FIELDS}


def _times(body: BlockInput) -> dict[str, int | None]:
    return {"startTime": body.start_ms, "endTime": body.end_ms}
