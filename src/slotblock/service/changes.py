"""What a block write leaves behind, in the writer's transaction, and the changes feed.

`ChangeLog.record` is the one call the write path makes after a block write: it takes the
location's next change number, logs the change (the feed reads it) and queues a webhook
event per subscription (the outbox the dispatcher delivers). All of it commits or rolls back
with the write itself, so a refused or failed write leaves no trace.

The feed (`ChangeFeed.page`) never skips a change: a sync token stands at a change number
below which every write has committed (see store.changes); a page shows each block as one
stored row, so never half of a write, and a block changed again after the page was read is
shown again by the next sync.

A page holds at most SLOTBLOCK_SYNC_PAGE_SIZE blocks and, past its first block, at most
SLOTBLOCK_SYNC_PAGE_BYTES of encoded blocks and tombstones: the caller's encoder measures
each block once, and the page keeps the encoding it measured.

Tokens are authenticated (HMAC-SHA256, core.changefeed_tokens) with SLOTBLOCK_SYNC_TOKEN_KEY
or, unset, with a key the server makes on first use and keeps in the database
(`server_secrets`): every node of the database uses the same key, across restarts.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core import changefeed_tokens as changefeed
from slotblock.core.changefeed_tokens import Position
from slotblock.core.errors import Gone
from slotblock.core.model import EVENTS_READ, Block, Calendar, Principal, Targets
from slotblock.service.auth import check_location, require_scope
from slotblock.service.webhook_events import event_record
from slotblock.store import Store, server_secrets
from slotblock.store import changes as change_store
from slotblock.store import webhooks as webhook_store

RESET = "the location was reset since this sync token; sync again without a token"
TOKEN_KEY = "sync_token_key"  # its name among the server's secrets
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

    async def record_team_change(
        self, conn: AsyncConnection, before: Calendar | None, after: Calendar | None
    ) -> None:
        """After a calendar write (create: no `before`; delete: no `after`) that moves users
        into or out of a group (its team or its group changed): log their synced blocks
        entering and leaving groups (a group holds its team members' synced blocks, see
        store/targets.py).

        The location's counter is taken first, after the write (the order of every block
        writer: its rows, then the counter): a team change or a sync that took it before
        has committed when the users' other calendars and synced blocks are read here, and
        one that takes it after sees this write."""
        users = _moving_users(before, after)
        if not users:
            return
        calendar = after or before
        assert calendar is not None  # a user moves with one of them
        location_id = calendar.location_id
        first = await change_store.take_seq(conn, location_id)
        others = await change_store.user_groups(conn, location_id, users, besides=calendar.id)
        moves = {
            user: (others[user] | _groups_in(before, user), others[user] | _groups_in(after, user))
            for user in users
        }
        await change_store.log_member_moves(conn, location_id, first, moves, self.clock())


def _groups_in(calendar: Calendar | None, user: str) -> frozenset[str]:
    """The group the calendar puts the user in (none unless on its team)."""
    if calendar is None or not calendar.group_id:
        return frozenset()
    team = {str(member["userId"]) for member in calendar.team_members}
    return frozenset((calendar.group_id,)) if user in team else frozenset()


def _grouped_team(calendar: Calendar | None) -> set[tuple[str, str]]:
    if calendar is None or not calendar.group_id:
        return set()
    return {(str(member["userId"]), calendar.group_id) for member in calendar.team_members}


def _moving_users(before: Calendar | None, after: Calendar | None) -> list[str]:
    """The users whose place in a group a calendar write may change."""
    moved = _grouped_team(before) ^ _grouped_team(after)
    return sorted({user for user, _ in moved})


@dataclass(frozen=True)
class FeedQuery:
    location_id: str
    targets: Targets
    sync_token: str | None = None
    page_token: str | None = None
    max_results: int | None = None


Encode = Callable[[Block], bytes]  # a block as the answer writes it
TOMBSTONE_BYTES = 64  # `{"id":…,"locationId":…,"deleted":true}` without its two ids


@dataclass(frozen=True)
class FeedPage:
    blocks: list[Block] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # ids of blocks gone from the filter
    next_page_token: str | None = None
    next_sync_token: str | None = None
    encoded: list[bytes] = field(default_factory=list)  # of `blocks`, by the caller's encoder


class _Filler:
    """Items of a page in order, until the count or the byte budget is spent (the first
    item is always taken, whatever its size: a page always moves the sync on)."""

    def __init__(self, encode: Encode, limit_bytes: int, location_id: str) -> None:
        self.encode = encode
        self.left = limit_bytes
        self.location_id = location_id
        self.blocks: list[Block] = []
        self.encoded: list[bytes] = []
        self.deleted: list[str] = []
        self.count = 0

    def add(self, block: Block | None, block_id: str) -> bool:
        """Take the next item (None: a tombstone); False when it does not fit."""
        body = None if block is None else self.encode(block)
        if body is None:
            size = TOMBSTONE_BYTES + len(block_id) + len(self.location_id)
        else:
            size = len(body) + 1  # and its comma
        if self.count and size > self.left:
            return False
        self.left -= size
        self.count += 1
        if block is None or body is None:
            self.deleted.append(block_id)
        else:
            self.blocks.append(block)
            self.encoded.append(body)
        return True


class ChangeFeed:
    """`GET /calendars/blocked-slots/changes`: every block, then what changed since."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        configured = settings.sync_token_key
        self._key: bytes | None = configured.encode() if configured else None

    @property
    def retention_ms(self) -> int:
        return int(self.settings.sync_retention_days * DAY_MS)

    async def token_key(self) -> bytes:
        """The key of the tokens: the setting's, else the database's own (made once)."""
        if self._key is None:
            async with self.store.read() as conn:
                kept = await server_secrets.get_secret(conn, TOKEN_KEY)
            if kept is None:
                async with self.store.begin() as conn:
                    kept = await server_secrets.keep_secret(conn, TOKEN_KEY, secrets.token_hex(32))
            self._key = bytes.fromhex(kept)
        return self._key

    async def page(self, principal: Principal, q: FeedQuery, encode: Encode) -> FeedPage:
        require_scope(principal, EVENTS_READ)
        check_location(principal, q.location_id)
        scope = changefeed.scope_of(q.location_id, q.targets)
        limit = min(q.max_results or self.settings.sync_page_size, self.settings.sync_page_size)
        now = self.clock()
        token = q.page_token or q.sync_token
        key = await self.token_key()
        fill = _Filler(encode, self.settings.sync_page_bytes, q.location_id)
        async with self.store.read() as conn:
            upto, floor = await change_store.current_seq(conn, q.location_id)
            if token is None:
                start = Position("all", scope, upto=upto, after="", issued_ms=now)
                return await self._listing(conn, q, start, limit, key, fill)
            position = changefeed.decode(token, key, scope, now, self.retention_ms)
            if max(position.since, position.upto) < floor:
                raise Gone(RESET)
            if position.mode == "all":
                return await self._listing(conn, q, position, limit, key, fill)
            if position.mode == "sync":
                position = Position(
                    mode="changes",
                    scope=scope,
                    since=position.since,
                    upto=upto,
                    after=0,
                    issued_ms=now,
                )
            return await self._changes(conn, q, position, limit, key, fill)

    async def _listing(
        self,
        conn: AsyncConnection,
        q: FeedQuery,
        at: Position,
        limit: int,
        key: bytes,
        fill: _Filler,
    ) -> FeedPage:
        """A page of every block of the filter, by id; the sync token stands at `at.upto`,
        read before the first page, so that a write after it is shown by the next sync."""
        found = await change_store.blocks_after(
            conn, q.location_id, q.targets, after_id=str(at.after), limit=limit + 1
        )
        taken = next((n for n, b in enumerate(found[:limit]) if not fill.add(b, b.id)), None)
        if taken is not None or len(found) > limit:
            after = Position(
                mode="all",
                scope=at.scope,
                since=0,
                upto=at.upto,
                after=fill.blocks[-1].id,
                issued_ms=at.issued_ms,
            )
            token = changefeed.encode(after, key)
            return FeedPage(fill.blocks, next_page_token=token, encoded=fill.encoded)
        return FeedPage(fill.blocks, next_sync_token=_sync_token(at, key), encoded=fill.encoded)

    async def _changes(
        self,
        conn: AsyncConnection,
        q: FeedQuery,
        at: Position,
        limit: int,
        key: bytes,
        fill: _Filler,
    ) -> FeedPage:
        span = change_store.ChangeSpan(since=at.since, upto=at.upto, after=int(at.after))
        changed = await change_store.changed_block_ids(
            conn, q.location_id, q.targets, span, limit=limit + 1
        )
        ids = [block_id for block_id, _ in changed[:limit]]
        stored = await change_store.blocks_by_id(conn, q.location_id, q.targets, ids)
        shown = 0
        while shown < len(ids) and fill.add(stored.get(ids[shown]), ids[shown]):
            shown += 1
        page = FeedPage(fill.blocks, fill.deleted, encoded=fill.encoded)
        if shown < len(changed):
            last = changed[shown - 1][1]
            after = Position(
                mode="changes",
                scope=at.scope,
                since=at.since,
                upto=at.upto,
                after=last,
                issued_ms=at.issued_ms,
            )
            return replace(page, next_page_token=changefeed.encode(after, key))
        return replace(page, next_sync_token=_sync_token(at, key))

    async def prune(self) -> int:
        """Forget changes past the tombstone retention (the dispatcher calls it now and then)."""
        before = self.clock() - self.retention_ms - _PRUNE_MARGIN_MS
        async with self.store.begin() as conn:
            return await change_store.prune_changes(conn, before)


def _sync_token(at: Position, key: bytes) -> str:
    """The token standing at `at.upto`, dated when that number was read."""
    position = Position("sync", at.scope, since=at.upto, issued_ms=at.issued_ms)
    return changefeed.encode(position, key)
