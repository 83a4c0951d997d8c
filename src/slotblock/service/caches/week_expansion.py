"""Series instances cached per (series version, week), so that nearby windows share them.

A window not seen before costs no dateutil run when the weeks it touches were expanded
already: the instances of those weeks are joined, each once, and cut to the window. The
result equals `instances(block, start, end, limit)`: an instance overlaps the window only
if it overlaps one of the weeks that cover the window, and every week is expanded with all
the series' overrides. A week with more than `limit` instances is not cached: the window is
expanded directly, so its error is the same as without the cache.

Weeks not cached yet are expanded a run of consecutive weeks at a time, in one dateutil
walk, and the run's instances are shared out to its weeks: a year-long window costs one
walk per series, as without the cache, not 53 (each walk has a fixed cost, and a sparse
rule walks from the window's start whatever its length).

Each entry is charged the events it holds and the block they keep alive (texts, rule and
overrides; counted once per entry, so the estimate errs high when entries share a block).

The key holds the block's version (bumped by every write in the database) and its joined
group, so a row read after another node's write never meets an old expansion.
"""

from __future__ import annotations

from slotblock.core.bounded_cache import BoundedCache, text_bytes
from slotblock.core.errors import TooManyInstances
from slotblock.core.instances import instances
from slotblock.core.model import TEXT_FIELDS, Block, Event
from slotblock.core.recurrence import DAY_MS
from slotblock.core.rrule_work import Budget

WEEK_MS = 7 * DAY_MS
ENTRY_BYTES = 240  # a key and its list, estimated
EVENT_BYTES = 200  # one Event and its ids, estimated (the Block is shared)
SHARED_EVENT_BYTES = 16  # a span's reference to an Event of one of its weeks
BLOCK_BYTES = 1_500  # a Block object and its fixed fields
OVERRIDE_BYTES = 400


def block_bytes(block: Block) -> int:
    """An estimate (high) of the memory one block holds."""
    texts = (*(getattr(block, name) or "" for name in TEXT_FIELDS), block.rrule or "")
    size = BLOCK_BYTES + sum(text_bytes(t) for t in texts)
    for override in block.overrides:
        size += OVERRIDE_BYTES + sum(text_bytes(str(v)) for v in override.fields.values())
    return size


class WeekExpansion:
    """The instances of series in windows, from a byte-bounded cache of expanded weeks."""

    def __init__(self, max_bytes: int) -> None:
        self.cache: BoundedCache[list[Event]] = BoundedCache(max_bytes)

    def instances(
        self, block: Block, start: int, end: int, limit: int, budget: Budget | None = None
    ) -> list[Event]:
        """`instances(block, start, end, limit, budget)`, from cached weeks where possible
        (a cached week costs no work)."""
        if self.cache.max_bytes == 0:
            return instances(block, start, end, limit, budget)
        try:
            weeks = self._span(block, start // WEEK_MS, (end - 1) // WEEK_MS, limit, budget)
        except TooManyInstances:
            return instances(block, start, end, limit, budget)
        return [e for e in weeks if e.start_ms < end and e.end_ms > start]

    def cached(self, block: Block, start: int, end: int) -> list[Event] | None:
        """`instances(block, start, end, …)` when the weeks of the window were expanded
        together before (no walk at all), else None."""
        found = self.covering(block, start, end)
        if found is None:
            return None
        return [e for e in found[1] if e.start_ms < end and e.end_ms > start]

    def covering(
        self, block: Block, start: int, end: int
    ) -> tuple[tuple[object, ...], list[Event]] | None:
        """The cache's key and instances of the weeks covering [start, end) (a superset of
        the window's: cut them to it) when they were expanded together before, else None.
        The key names exactly those instances: whatever is derived from them can be kept
        under it."""
        if self.cache.max_bytes == 0:
            return None
        first, last = start // WEEK_MS, (end - 1) // WEEK_MS
        if first == last:
            key = self._week_key(block, first)
        else:
            key = (block.location_id, block.id, block.version, block.group_id, first, last)
        events = self.cache.get(key)
        return None if events is None else (key, events)

    def _span(
        self, block: Block, first: int, last: int, limit: int, budget: Budget | None
    ) -> list[Event]:
        """The instances overlapping weeks first..last, each once (kept too: nearby windows
        of several weeks share their span)."""
        if first == last:
            return self._week(block, first, limit, budget)
        key = (block.location_id, block.id, block.version, block.group_id, first, last)
        events = self.cache.get(key)
        if events is None:
            weeks = self._weeks(block, first, last, limit, budget)
            seen: dict[str, Event] = {}
            for week_events in weeks:
                seen.update((e.id, e) for e in week_events if e.id not in seen)
            events = list(seen.values())
            size = ENTRY_BYTES + SHARED_EVENT_BYTES * len(events) + block_bytes(block)
            self.cache.put(key, events, size)
        return events

    def _weeks(
        self, block: Block, first: int, last: int, limit: int, budget: Budget | None
    ) -> list[list[Event]]:
        """The instances of each week first..last: cached ones as they are, each run of
        missing weeks expanded in one walk."""
        found = [self.cache.get(self._week_key(block, w)) for w in range(first, last + 1)]
        i = 0
        while i < len(found):
            if found[i] is not None:
                i += 1
                continue
            j = i
            while j + 1 < len(found) and found[j + 1] is None:
                j += 1
            for offset, events in enumerate(
                self._expand_run(block, first + i, first + j, limit, budget)
            ):
                found[i + offset] = events
            i = j + 1
        return [events or [] for events in found]

    def _expand_run(
        self, block: Block, first: int, last: int, limit: int, budget: Budget | None
    ) -> list[list[Event]]:
        """Weeks first..last expanded in one walk, each week cached with its instances."""
        try:
            events = instances(block, first * WEEK_MS, (last + 1) * WEEK_MS, limit, budget)
        except TooManyInstances:
            if first == last:
                raise
            # The run holds too many for one walk: week by week, each within the limit.
            return [self._week(block, week, limit, budget) for week in range(first, last + 1)]
        run = []
        for week in range(first, last + 1):
            lo, hi = week * WEEK_MS, (week + 1) * WEEK_MS
            week_events = [e for e in events if e.start_ms < hi and e.end_ms > lo]
            self._put_week(block, week, week_events)
            run.append(week_events)
        return run

    def _week(self, block: Block, week: int, limit: int, budget: Budget | None) -> list[Event]:
        events = self.cache.get(self._week_key(block, week))
        if events is None:
            events = instances(block, week * WEEK_MS, (week + 1) * WEEK_MS, limit, budget)
            self._put_week(block, week, events)
        return events

    def _put_week(self, block: Block, week: int, events: list[Event]) -> None:
        size = ENTRY_BYTES + EVENT_BYTES * len(events) + block_bytes(block)
        self.cache.put(self._week_key(block, week), events, size)

    @staticmethod
    def _week_key(block: Block, week: int) -> tuple[object, ...]:
        return (block.location_id, block.id, block.version, block.group_id, week)
