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
from slotblock.core.model import Block, Event, Principal
from slotblock.service.blocks import INLINE_EVENTS, BlockService, WindowQuery
from slotblock.store.window_query import Keys, WindowReader

Encode = Callable[[Sequence[Event], str], bytes]
# The body of a window (blocks, start, end, zone) joined from kept encodings, or None where
# the events must be built (api/event_fragments.py `EventFragments.window`).
Assemble = Callable[[Sequence[Block], int, int, str], bytes | None]
ENTRY_BYTES = 400  # the key, the tuple and the bytes object's header, estimated


class AnswerCache:
    """`BlockService.query`, encoded, from an answer cache where it is still current."""

    def __init__(self, blocks: BlockService, max_bytes: int) -> None:
        self.blocks = blocks
        self.cache: BoundedCache[tuple[int, bytes]] = BoundedCache(max_bytes)

    @property
    def reader(self) -> WindowReader | None:
        return self.blocks.reader if self.cache.max_bytes else None

    async def body(
        self,
        principal: Principal,
        q: WindowQuery,
        zone: str,
        encode: Encode,
        assemble: Assemble | None = None,
    ) -> bytes:
        """The window's encoded answer: cached, else joined by `assemble` where it can,
        else `encode` over the service's events."""
        reader = self.reader
        if reader is None:
            return await self._answer(principal, q, None, zone, encode, assemble)
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
        body = exact(await self._answer(principal, q, keys, zone, encode, assemble))
        self.cache.put(key, (version, body), ENTRY_BYTES + len(body))
        return body

    async def _answer(
        self,
        principal: Principal,
        q: WindowQuery,
        keys: Keys | None,
        zone: str,
        encode: Encode,
        assemble: Assemble | None,
    ) -> bytes:
        found = await self.blocks.window_blocks(principal, q, keys)
        if assemble is not None:
            body = assemble(found, q.start_ms, q.end_ms, zone)
            if body is not None:
                return body
        return await self._encoded(encode, await self.blocks.events_of(found, q), zone)

    async def _encoded(self, encode: Encode, events: Sequence[Event], zone: str) -> bytes:
        """`encode(events, zone)`: in a worker thread past INLINE_EVENTS events (a large
        answer takes tens of milliseconds to write), on the event loop below (a hop costs
        more)."""
        if len(events) <= INLINE_EVENTS:
            return encode(events, zone)
        return await self.blocks.cpu.run(encode, events, zone)
