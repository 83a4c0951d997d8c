"""The `{"events": […]}` body of a query, from encoded events kept per event version.

An event's JSON depends only on its block's stored version (bumped by every write in the
database), its joined group, its id (an instance's original start) and the time zone it
is written in: that is the key. The bytes are orjson's for the same dict, so the body is
byte for byte the one `orjson.dumps({"events": [...]})` writes.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from slotblock.api.schemas import event_json
from slotblock.core.bounded_cache import BoundedCache, exact
from slotblock.core.model import Event

# An entry beside its bytes: the key (with the event's id), the bytes object's header and
# the map's slot; measured (sys.getsizeof, deep) at about 350.
ENTRY_BYTES = 400


class EventFragments:
    """Encoded events, least recently used out past `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.cache: BoundedCache[bytes] = BoundedCache(max_bytes)

    def body(self, events: Sequence[Event], timezone: str) -> bytes:
        if self.cache.max_bytes == 0:
            return orjson.dumps({"events": [event_json(e, timezone) for e in events]})
        return b'{"events":[' + b",".join([self._one(e, timezone) for e in events]) + b"]}"

    def _one(self, event: Event, timezone: str) -> bytes:
        block = event.block
        key = (block.location_id, event.id, block.version, block.group_id, timezone)
        found = self.cache.get(key)
        if found is None:
            found = exact(orjson.dumps(event_json(event, timezone)))
            self.cache.put(key, found, ENTRY_BYTES + len(found))
        return found
