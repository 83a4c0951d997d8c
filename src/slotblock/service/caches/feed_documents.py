"""iCalendar feed documents, cached and validated against the database's data version.

A document is kept per feed with the location's data version read BEFORE its blocks were
(in the feed's look-up statement on PostgreSQL; SQLite's `PRAGMA data_version` just before
it) and the day its past cut-off was computed for: it is served again only while both are
the same, as the answer cache's answers are (service/caches/answers.py). Its
`last_modified_ms` is the time this process wrote those bytes at that data version: a
document written again at the same version with the same bytes (a new cut-off day that left
nothing out) keeps it; after any write it is the new time, so that If-Modified-Since never
says "not modified" of bytes the client has not seen, whichever node it last asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from slotblock.core.bounded_cache import BoundedCache

ENTRY_BYTES = 500  # the key, the record and the bytes object's header, estimated


@dataclass(frozen=True)
class FeedDocument:
    body: bytes
    etag: str  # strong: a hash of the bytes
    last_modified_ms: int
    data_version: int
    cut_ms: int  # blocks that ended before it were left out


class FeedDocuments:
    """The last document of each feed (by feed id), bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.cache: BoundedCache[FeedDocument] = BoundedCache(max_bytes)

    def current(self, feed_id: str, data_version: int, cut_ms: int) -> FeedDocument | None:
        """The kept document when it was written at this data version and cut-off."""
        found = self.cache.get(feed_id)
        if found is None or (found.data_version, found.cut_ms) != (data_version, cut_ms):
            return None
        return found

    def previous(self, feed_id: str) -> FeedDocument | None:
        """The kept document, current or not (its bytes and their first time)."""
        return self.cache.get(feed_id)

    def keep(self, feed_id: str, document: FeedDocument) -> None:
        self.cache.put(feed_id, document, ENTRY_BYTES + len(document.body))
