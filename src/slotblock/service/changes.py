"""What a block write leaves behind, in the writer's transaction, and the changes feed.

`ChangeLog.record` is the one call the write path makes after a block write: it takes the
location's next change number, logs the change (the feed reads it) and queues a webhook
event per subscription (the outbox the dispatcher delivers). All of it commits or rolls back
with the write itself, so a refused or failed write leaves no trace.

The feed (`ChangeFeed.page`) never skips a change: a sync token stands at a change number
below which every write has committed (see store.changes); a page shows each block as one
stored row, so never half of a write, and a block changed again after the page was read is
shown again by the next sync.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core import changefeed_tokens as changefeed
from slotblock.core.changefeed_tokens import Position
from slotblock.core.errors import Gone
from slotblock.core.model import Block, Calendar, Principal
from slotblock.service.auth import check_location, require_scope
from slotblock.service.webhook_events import event_record
from slotblock.store import Store
from slotblock.store import changes as change_store
from slotblock.store import webhooks as webhook_store

READ = "calendars/events.readonly"
RESET = "the location was reset since this sync token; sync again without a token"
DAY_MS = 86_400_000
_PRUNE_MARGIN_MS = 3_600_000  # a token's writes may be stamped a little before it


class ChangeLog:
    """Records block writes inside their transaction."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock

    async def record(
        self,
        conn: AsyncConnection,
        before: Block | None,
        after: Block | None,
        event_id: str | None = None,
        *,
        instance_deleted: bool = False,
    ) -> None:
        """Log a write: created (`before` None), changed, or deleted (`after` None);
        `event_id` names the instance when one instance was changed or deleted."""
        block = after or before
        assert block is not None
        now = self.clock()
        seq = await change_store.take_seq(conn, block.location_id)
        await change_store.insert_change(conn, seq, before, after, now)
        kind, record = event_record(before, after, event_id, now, instance_deleted=instance_deleted)
        await webhook_store.enqueue(conn, block.location_id, block.id, kind, record, now)

    async def record_calendar_move(
        self, conn: AsyncConnection, before: Calendar, after: Calendar
    ) -> None:
        """Log a calendar's move to another group: each of its blocks leaves the old
        group's feed (a tombstone there) and enters the new one's, and shows its new
        `groupId` in the others. The blocks themselves are not written: no webhook event."""
        if before.group_id == after.group_id:
            return
        groups = (before.group_id, after.group_id)
        await change_store.log_calendar_move(
            conn, after.location_id, after.id, groups, self.clock()
        )


@dataclass(frozen=True)
class FeedQuery:
    location_id: str
    calendar_id: str | None = None
    user_id: str | None = None
    group_id: str | None = None
    sync_token: str | None = None
    page_token: str | None = None
    max_results: int | None = None

    @property
    def filters(self) -> dict[str, str | None]:
        return {
            "calendar_id": self.calendar_id,
            "user_id": self.user_id,
            "group_id": self.group_id,
        }


@dataclass(frozen=True)
class FeedPage:
    blocks: list[Block] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # ids of blocks gone from the filter
    next_page_token: str | None = None
    next_sync_token: str | None = None


class ChangeFeed:
    """`GET /calendars/blocked-slots/changes`: every block, then what changed since."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    @property
    def retention_ms(self) -> int:
        return int(self.settings.sync_retention_days * DAY_MS)

    async def page(self, principal: Principal, q: FeedQuery) -> FeedPage:
        require_scope(principal, READ)
        check_location(principal, q.location_id)
        scope = changefeed.scope_of(q.location_id, q.calendar_id, q.user_id, q.group_id)
        limit = min(q.max_results or self.settings.sync_page_size, self.settings.sync_page_size)
        now = self.clock()
        token = q.page_token or q.sync_token
        async with self.store.read() as conn:
            upto, floor = await change_store.current_seq(conn, q.location_id)
            if token is None:
                start = Position("all", scope, upto=upto, after="", issued_ms=now)
                return await self._listing(conn, q, start, limit)
            position = changefeed.decode(token, scope, now, self.retention_ms)
            if max(position.since, position.upto) < floor:
                raise Gone(RESET)
            if position.mode == "all":
                return await self._listing(conn, q, position, limit)
            if position.mode == "sync":
                position = Position("changes", scope, position.since, upto, 0, now)
            return await self._changes(conn, q, position, limit)

    async def _listing(
        self, conn: AsyncConnection, q: FeedQuery, at: Position, limit: int
    ) -> FeedPage:
        """A page of every block of the filter, by id; the sync token stands at `at.upto`,
        read before the first page, so that a write after it is shown by the next sync."""
        found = await change_store.blocks_after(
            conn, q.location_id, q.filters, after_id=str(at.after), limit=limit + 1
        )
        if len(found) > limit:
            found = found[:limit]
            after = Position("all", at.scope, 0, at.upto, found[-1].id, at.issued_ms)
            return FeedPage(found, next_page_token=changefeed.encode(after))
        return FeedPage(found, next_sync_token=_sync_token(at))

    async def _changes(
        self, conn: AsyncConnection, q: FeedQuery, at: Position, limit: int
    ) -> FeedPage:
        changed = await change_store.changed_block_ids(
            conn,
            q.location_id,
            q.filters,
            since=at.since,
            upto=at.upto,
            after=int(at.after),
            limit=limit + 1,
        )
        more = len(changed) > limit
        changed = changed[:limit]
        ids = [block_id for block_id, _ in changed]
        stored = await change_store.blocks_by_id(conn, q.location_id, q.filters, ids)
        page = FeedPage(
            blocks=[stored[i] for i in ids if i in stored],
            deleted=[i for i in ids if i not in stored],
        )
        if more:
            after = Position("changes", at.scope, at.since, at.upto, changed[-1][1], at.issued_ms)
            return FeedPage(page.blocks, page.deleted, next_page_token=changefeed.encode(after))
        return FeedPage(page.blocks, page.deleted, next_sync_token=_sync_token(at))

    async def prune(self) -> int:
        """Forget changes past the tombstone retention (the dispatcher calls it now and then)."""
        before = self.clock() - self.retention_ms - _PRUNE_MARGIN_MS
        async with self.store.begin() as conn:
            return await change_store.prune_changes(conn, before)


def _sync_token(at: Position) -> str:
    """The token standing at `at.upto`, dated when that number was read."""
    return changefeed.encode(Position("sync", at.scope, since=at.upto, issued_ms=at.issued_ms))
