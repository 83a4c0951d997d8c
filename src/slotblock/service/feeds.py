"""iCalendar subscription feeds: the blocked time of one calendar, user or group, published at
a secret address (`GET /calendars/ical/{feedToken}.ics`) for calendar apps to subscribe to.

- A feed token is the whole credential (calendar apps send no headers): it is shown once,
  stored as its SHA-256 only, grants this one read and nothing else, and is looked up on
  every request, so a revoked feed is 404 at once. Feeds are made, listed and revoked by a
  location's token (`calendars.write`; listing also `calendars.readonly`), by the operator
  (CLI) and by fixture documents.
- The document (core/ical_feed.py) holds the target's blocks as stored, not expanded; the
  blocks are those the window query selects from `feed_past_days` ago onwards (one-off
  blocks and series that ended before are left out), at most `max_events` events (blocks
  plus changed instances) and `max_response_bytes` bytes, else 422.
- Blocks synced from a connected calendar (`createdBy.source` set) are left out unless the
  feed includes them (`include_connected`), so that a calendar is not echoed back to itself.
- Polling is cheap: a request reads the feed and the location's data version in one
  statement, and a document written at that version (and cut-off day) is served again from
  the cache (service/caches/feed_documents.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from slotblock.config import Settings
from slotblock.core import ical_feed
from slotblock.core.errors import InvalidInput, NotFound, ScopeMissing, Unprocessable
from slotblock.core.isotime import from_ms, to_ms
from slotblock.core.model import (
    CALENDARS_READ,
    CALENDARS_WRITE,
    Block,
    Feed,
    Principal,
    TargetKind,
    Targets,
)
from slotblock.core.recurrence import DAY_MS
from slotblock.core.tokens import hash_token, new_feed_token, new_id
from slotblock.service.auth import NO_SCOPE, check_location, require_scope
from slotblock.service.blocks import INLINE_EVENTS, LATEST_MS, BlockService
from slotblock.service.caches.feed_documents import FeedDocument, FeedDocuments
from slotblock.store import Store
from slotblock.store import blocks as block_store
from slotblock.store import feeds as feed_store
from slotblock.store.feeds import FeedSource

__all__ = ["FeedAnswer", "FeedInput", "FeedService", "FeedSource", "from_connected_calendar"]

FEED_NOT_FOUND = "Feed not found"
YEAR_MS = 365 * DAY_MS
ZONES_AHEAD_YEARS = 12  # VTIMEZONEs cover at least this many years past the cut-off


@dataclass(frozen=True)
class FeedInput:
    """A feed to create: its location, its one target, its options."""

    location_id: str
    target_kind: TargetKind
    target_id: str
    busy_only: bool = False
    include_connected: bool = False
    name: str = ""


@dataclass(frozen=True)
class FeedAnswer:
    body: bytes
    etag: str
    last_modified_ms: int


def from_connected_calendar(block: Block) -> bool:
    """True for a block synced from a connected calendar (blocks written through the API
    have no connection)."""
    return block.connection_id is not None


class FeedService:
    def __init__(
        self, store: Store, settings: Settings, clock: Callable[[], int], blocks: BlockService
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.blocks = blocks
        self.documents = FeedDocuments(settings.feed_cache_bytes)

    # --- the operator's (CLI, fixtures) ---------------------------------------------------

    async def create(self, given: FeedInput) -> tuple[str, Feed]:
        """A new feed: its token (returned once, in clear) and what is stored of it. 404
        for an unknown location or target, 422 past `feed_max_per_location`."""
        token = new_feed_token()
        feed = Feed(
            id=new_id(),
            location_id=given.location_id,
            target_kind=given.target_kind,
            target_id=given.target_id,
            busy_only=given.busy_only,
            include_connected=given.include_connected,
            name=given.name,
            created_ms=self.clock(),
            revoked_ms=None,
        )
        async with self.store.begin() as conn:
            held = await feed_store.hold_location(conn, given.location_id)
            if held is None:
                raise NotFound(f"location {given.location_id} not found")
            targets = Targets.one(given.target_kind, given.target_id)
            if await block_store.missing_targets(conn, given.location_id, targets):
                raise NotFound(f"{given.target_kind.capitalize()} not found")
            if held >= self.settings.feed_max_per_location:
                raise Unprocessable(
                    f"a location may hold at most {self.settings.feed_max_per_location} "
                    "feeds; revoke one first"
                )
            await feed_store.insert_feed(conn, feed, hash_token(token))
        return token, feed

    async def location_of(self, kind: TargetKind, target_id: str) -> str:
        """The one location holding a calendar, user or group of this id (the CLI's
        `feed create` without `--location`)."""
        async with self.store.read() as conn:
            found = await feed_store.target_locations(conn, kind, target_id)
        if not found:
            raise NotFound(f"no location has a {kind} {target_id}")
        if len(found) > 1:
            raise InvalidInput(f"several locations have a {kind} {target_id}: give --location")
        return found[0]

    async def list_all(self, location_id: str | None = None) -> list[Feed]:
        async with self.store.read() as conn:
            return await feed_store.list_feeds(conn, location_id)

    async def revoke(self, feed_id: str, location_id: str | None = None) -> None:
        async with self.store.begin() as conn:
            if not await feed_store.revoke_feed(conn, feed_id, location_id, self.clock()):
                raise NotFound(FEED_NOT_FOUND)

    # --- a location's own token -----------------------------------------------------------

    async def create_own(self, principal: Principal, given: FeedInput) -> tuple[str, Feed]:
        require_scope(principal, CALENDARS_WRITE)
        check_location(principal, given.location_id)
        return await self.create(given)

    async def list_own(self, principal: Principal, location_id: str) -> list[Feed]:
        if not principal.scopes & {CALENDARS_READ, CALENDARS_WRITE}:
            raise ScopeMissing(NO_SCOPE)
        check_location(principal, location_id)
        return await self.list_all(location_id)

    async def revoke_own(self, principal: Principal, feed_id: str) -> None:
        require_scope(principal, CALENDARS_WRITE)
        await self.revoke(feed_id, principal.location.id)

    # --- the feed itself ------------------------------------------------------------------

    async def find(self, token: str) -> FeedSource:
        """The live feed of a token, with what its document depends on; 404 otherwise (an
        unknown, revoked or malformed token, or a target that is gone)."""
        digest = hash_token(token)
        reader = self.blocks.reader
        if reader is None:
            async with self.store.read() as conn:
                found = await feed_store.find_live(conn, digest)
        else:
            # SQLite: the database's version, read before the feed and its blocks are
            version = await reader.data_version("") if reader.is_sqlite else None
            rows = await reader.mapped_rows(feed_store.lookup_sql, {"token_hash": digest})
            found = feed_store.source_of(rows[0]) if rows else None
            if found is not None and version is not None:
                found = FeedSource(found.feed, found.location_timezone, found.target_name, version)
        if found is None or found.target_name is None:
            raise NotFound(FEED_NOT_FOUND)
        return found

    async def document(self, source: FeedSource) -> FeedAnswer:
        """The feed's document, from the cache while the data it was written from is
        current."""
        feed = source.feed
        now = self.clock()
        cut = (now - self.settings.feed_past_days * DAY_MS) // DAY_MS * DAY_MS
        cached = self.blocks.reader is not None and self.documents.current(
            feed.id, source.data_version, cut
        )
        if cached:
            return FeedAnswer(cached.body, cached.etag, cached.last_modified_ms)
        body = await self._write(source, cut)
        tag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
        # The same bytes keep their time only at the same data version: after writes, the
        # same bytes may come back (a block created, then deleted) after another node
        # served other bytes, so If-Modified-Since must not be answered from the old time.
        before = self.documents.previous(feed.id)
        same = before is not None and (before.etag, before.data_version) == (
            tag,
            source.data_version,
        )
        first = before.last_modified_ms if before is not None and same else now
        self.documents.keep(feed.id, FeedDocument(body, tag, first, source.data_version, cut))
        return FeedAnswer(body, tag, first)

    async def _write(self, source: FeedSource, cut_ms: int) -> bytes:
        feed = source.feed
        targets = Targets.one(feed.target_kind, feed.target_id)
        found = (
            await self.blocks.blocks_of_targets(feed.location_id, cut_ms, LATEST_MS, [targets])
        )[0]
        blocks = [b for b in found if feed.include_connected or not from_connected_calendar(b)]
        self._check_events(blocks)
        spec = ical_feed.FeedSpec(
            name=feed.name or f"{source.target_name} (blocked time)",
            busy_only=feed.busy_only,
            refresh_seconds=self.settings.feed_refresh_minutes * 60,
            zone=source.location_timezone,
            zones_from_ms=_year_start(cut_ms),
            zones_until_ms=_year_start(cut_ms + ZONES_AHEAD_YEARS * YEAR_MS),
        )
        if len(blocks) <= INLINE_EVENTS // 10:
            body = ical_feed.document(blocks, spec)
        else:  # a large document takes tens of milliseconds or more: not on the event loop
            body = await self.blocks.cpu.run(ical_feed.document, blocks, spec)
        if len(body) > self.settings.max_response_bytes:
            raise Unprocessable(
                f"the feed is larger than {self.settings.max_response_bytes} bytes; "
                "publish a narrower target"
            )
        return body

    def _check_events(self, blocks: Sequence[Block]) -> None:
        events = len(blocks) + sum(len(b.overrides) for b in blocks)
        if events > self.settings.max_events:
            raise Unprocessable(
                f"the feed holds more than {self.settings.max_events} events; "
                "publish a narrower target"
            )


def _year_start(ms: int) -> int:
    """The first instant of the UTC year of `ms` (so that VTIMEZONEs change once a year)."""
    return to_ms(datetime(from_ms(ms, ZoneInfo("UTC")).year, 1, 1, tzinfo=UTC))
