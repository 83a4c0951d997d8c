"""Answers of the query, cached and validated against the database's data version.

An answer (the encoded body of a window, filters and time zone in a location) is kept with
the location's data version read BEFORE its query ran (for a window not cached yet, on
PostgreSQL, in the statement that reads its block keys: one round trip, one snapshot; a
window cached already reads the version alone). It is served again only while the
database still reports that version: every write, by this node or any other, changes it
(SQLite's `PRAGMA data_version`; PostgreSQL's `data_versions` row, bumped by triggers), so
an answer never outlives the data it was computed from. A write that lands between the
version read and the query leaves an entry under the older version: it is never served.

The caller's scope and location and the request's shape are checked on every request,
before the cache: a hit answers exactly what the query would. Errors are not cached.

The contract every cache keeps (keys, versions, a new field or table): the docstring of
`slotblock.service.caches`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from slotblock.core.bounded_cache import BoundedCache, exact
from slotblock.core.model import Event, Principal
from slotblock.service.blocks import INLINE_EVENTS, BlockService, WindowQuery
from slotblock.store.window_query import WindowReader

Encode = Callable[[Sequence[Event], str], bytes]
ENTRY_BYTES = 400  # the key, the tuple and the bytes object's header, estimated


class AnswerCache:
    """`BlockService.query`, encoded, from an answer cache where it is still current."""

    def __init__(self, blocks: BlockService, max_bytes: int) -> None:
        self.blocks = blocks
        self.cache: BoundedCache[tuple[int, bytes]] = BoundedCache(max_bytes)

    @property
    def reader(self) -> WindowReader | None:
        return self.blocks.reader if self.cache.max_bytes else None

    async def body(self, principal: Principal, q: WindowQuery, zone: str, encode: Encode) -> bytes:
        reader = self.reader
        if reader is None:
            return await self._encoded(encode, await self.blocks.query(principal, q), zone)
        self.blocks.check_query(principal, q)
        # a plain tuple: hashing and comparing it is several times cheaper than the dataclass
        t = q.targets
        key = (q.location_id, q.start_ms, q.end_ms, t.calendar_id, t.user_id, t.group_id, zone)
        found = self.cache.get(key)
        keys = None
        if found is not None:  # likely a hit: the version alone decides
            version = await reader.data_version(q.location_id)
            if found[0] == version:
                return found[1]
        else:  # a miss: the version and the window's keys in one read (PostgreSQL: one
            # round trip, one snapshot), and the query goes on with those keys
            version, keys = await reader.version_and_keys(
                q.location_id, q.start_ms, q.end_ms, q.targets
            )
        events = await self.blocks.query(principal, q, keys)
        body = exact(await self._encoded(encode, events, zone))
        self.cache.put(key, (version, body), ENTRY_BYTES + len(body))
        return body

    async def _encoded(self, encode: Encode, events: Sequence[Event], zone: str) -> bytes:
        """`encode(events, zone)`: in a worker thread past INLINE_EVENTS events (a large
        answer takes tens of milliseconds to write), on the event loop below (a hop costs
        more)."""
        if len(events) <= INLINE_EVENTS:
            return encode(events, zone)
        return await self.blocks.cpu.run(encode, events, zone)
