"""The `{"events": […]}` body of a query, joined from encoded events.

An event's JSON depends only on its block's stored version (bumped by every write in the
database), its joined group, its id (an instance's original start) and the time zone it
is written in: that is the key. The bytes are orjson's for the same dict, so the body is
byte for byte the one `orjson.dumps({"events": [...]})` writes.

Each encoding is kept as a row with what assembling a window needs of its event — start,
id, end and its share of the answer's size estimate (`answer_size.event_estimate`) — so
that `window` builds no event object and estimates nothing: a one-off block is one row; a
series' cached weeks (service/caches/week_expansion.py) are one list of rows under the
expansion's own key and the zone, cut to each window that they cover. A window is then a
filter, a sort and a join of bytes. It is the same answer as `body` over the service's
events, refused (422) at the same size, or None where the service's path must decide
(weeks not expanded yet, more events than the event loop assembles).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from operator import itemgetter

import orjson

from slotblock.api.answer_size import ANSWER_FIXED_BYTES, event_estimate, too_large
from slotblock.api.schemas import event_json
from slotblock.core.bounded_cache import BoundedCache, exact
from slotblock.core.instances import master_event
from slotblock.core.model import Block, Event
from slotblock.service.blocks import BlockService
from slotblock.service.caches.week_expansion import WeekExpansion

# start, id, end, the event's size estimate, its encoding
Row = tuple[int, str, int, int, bytes]

# An entry beside its bytes: the key (with the event's id), the row, the bytes object's
# header and the map's slot; measured (sys.getsizeof, deep) at about 450.
ENTRY_BYTES = 500
# One more row of a series' weeks: the tuple, two ints, the bytes object's header and the
# list's slot (the id is the cached instance's own string); measured at about 250.
ROW_BYTES = 300

_ORDER = itemgetter(0, 1)  # the service's order: start, then id

Encode = Callable[[Sequence[Event], str], bytes]
Assemble = Callable[[Sequence[Block], int, int, str], bytes | None]
# The service the two were made for (its expansion and limits), `encode` and `assemble`
Encoders = tuple[BlockService, Encode, Assemble]


def row(event: Event, timezone: str) -> Row:
    body = exact(orjson.dumps(event_json(event, timezone)))
    return (event.start_ms, event.id, event.end_ms, event_estimate(event), body)


class EventFragments:
    """Encoded events, least recently used out past `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.cache: BoundedCache[tuple[Row, ...]] = BoundedCache(max_bytes)
        self.encoders: Encoders | None = None  # kept by the query's route

    def body(self, events: Sequence[Event], timezone: str) -> bytes:
        if self.cache.max_bytes == 0:
            return orjson.dumps({"events": [event_json(e, timezone) for e in events]})
        return b'{"events":[' + b",".join([self._one(e, timezone)[4] for e in events]) + b"]}"

    def assembler(self, expansion: WeekExpansion, most: int, max_bytes: int) -> Assemble:
        """`window` over `expansion`'s weeks, at most `most` events and `max_bytes`."""

        def assemble(blocks: Sequence[Block], start: int, end: int, zone: str) -> bytes | None:
            return self.window(blocks, start, end, zone, expansion, (most, max_bytes))

        return assemble

    def window(
        self,
        blocks: Sequence[Block],
        start: int,
        end: int,
        timezone: str,
        expansion: WeekExpansion,
        limits: tuple[int, int],
    ) -> bytes | None:
        """The body of the window's events of `blocks` (the store's blocks that can overlap
        it), from kept rows, or None when a series' weeks are not in `expansion` or the
        window holds more than `limits[0]` events. 422 past `limits[1]` bytes, as
        `capped(body)` refuses."""
        if self.cache.max_bytes == 0:
            return None
        most, max_bytes = limits
        singles = [b for b in blocks if b.rrule is None]
        if len(singles) > most:
            return None
        rows = self._singles(singles, timezone)
        for block in blocks:
            if block.rrule is None:
                continue
            covering = expansion.covering(block, start, end)
            if covering is None:
                return None
            key, events = covering
            weeks = self._weeks(key, events, timezone)
            rows.extend([r for r in weeks if r[0] < end and r[2] > start])
            if len(rows) > most:
                return None
        rows.sort(key=_ORDER)
        if ANSWER_FIXED_BYTES + sum([r[3] for r in rows]) > max_bytes:
            raise too_large(max_bytes)
        body = b'{"events":[' + b",".join([r[4] for r in rows]) + b"]}"
        if len(body) > max_bytes:
            raise too_large(max_bytes)
        return body

    def _one(self, event: Event, timezone: str) -> Row:
        block = event.block
        key = (block.location_id, event.id, block.version, block.group_id, timezone)
        found = self.cache.get(key)
        if found is None:
            found = (row(event, timezone),)
            self.cache.put(key, found, ENTRY_BYTES + len(found[0][4]))
        return found[0]

    def _singles(self, blocks: list[Block], timezone: str) -> list[Row]:
        """The rows of one-off blocks (`_one` of each: the same keys), read in one go."""
        keys: list[Hashable] = [
            (b.location_id, b.id, b.version, b.group_id, timezone) for b in blocks
        ]
        rows: list[Row] = []
        for block, key, found in zip(blocks, keys, self.cache.get_many(keys), strict=True):
            if found is not None:
                rows.append(found[0])
                continue
            made = row(master_event(block), timezone)
            self.cache.put(key, (made,), ENTRY_BYTES + len(made[4]))
            rows.append(made)
        return rows

    def _weeks(
        self, key: tuple[object, ...], events: list[Event], timezone: str
    ) -> tuple[Row, ...]:
        """The rows of a series' cached weeks (`key`: the expansion's), in `timezone`."""
        weeks_key = ("weeks", *key, timezone)
        found = self.cache.get(weeks_key)
        if found is None:
            found = tuple(row(e, timezone) for e in events)
            size = ENTRY_BYTES + sum(ROW_BYTES + len(r[4]) for r in found)
            self.cache.put(weeks_key, found, size)
        return found
