"""Series instances cached per (series version, week), so that nearby windows share them.

A window not seen before costs no dateutil run when the weeks it touches were expanded
already: the instances of those weeks are joined, each once, and cut to the window. The
result equals `instances(block, start, end, limit)`: an instance overlaps the window only
if it overlaps one of the weeks that cover the window, and every week is expanded with all
the series' overrides. A week with more than `limit` instances is not cached: the window is
expanded directly, so its error is the same as without the cache.

The key holds the block's version (bumped by every write in the database) and its joined
group, so a row read after another node's write never meets an old expansion.
"""

from __future__ import annotations

from slotblock.bounded_cache import BoundedCache
from slotblock.errors import TooManyInstances
from slotblock.instances import instances
from slotblock.model import Block, Event
from slotblock.recurrence import DAY_MS

WEEK_MS = 7 * DAY_MS
ENTRY_BYTES = 240  # a key and its list, estimated
EVENT_BYTES = 200  # one Event and its ids, estimated (the Block is shared)


class WeekExpansion:
    """The instances of series in windows, from a byte-bounded cache of expanded weeks."""

    def __init__(self, max_bytes: int) -> None:
        self.cache: BoundedCache[list[Event]] = BoundedCache(max_bytes)

    def instances(self, block: Block, start: int, end: int, limit: int) -> list[Event]:
        """`instances(block, start, end, limit)`, from cached weeks where possible."""
        if self.cache.max_bytes == 0:
            return instances(block, start, end, limit)
        seen: set[str] = set()
        found: list[Event] = []
        try:
            for week in range(start // WEEK_MS, (end - 1) // WEEK_MS + 1):
                for event in self._week(block, week, limit):
                    if event.start_ms < end and event.end_ms > start and event.id not in seen:
                        seen.add(event.id)
                        found.append(event)
        except TooManyInstances:
            return instances(block, start, end, limit)
        return found

    def _week(self, block: Block, week: int, limit: int) -> list[Event]:
        key = (block.location_id, block.id, block.version, block.group_id, week)
        events = self.cache.get(key)
        if events is None:
            events = instances(block, week * WEEK_MS, (week + 1) * WEEK_MS, limit)
            self.cache.put(key, events, ENTRY_BYTES + EVENT_BYTES * len(events))
        return events
