"""Queries of the change log: per-location change numbers, block changes, feed pages.

`take_seq` increments the location's counter row inside the writer's transaction, which
keeps the row locked until that transaction ends: on PostgreSQL the numbers of one location
therefore commit in order, and the counter a reader sees is a point below which no write can
still commit (on SQLite writers are serialised anyway).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.model import Block, Targets
from slotblock.store.blocks import _COLUMNS, _JOIN, _block
from slotblock.store.tables import (
    block_changes,
    blocks,
    calendar_members,
    calendars,
    change_counters,
)
from slotblock.store.targets import Synced, target_params, target_scope


def _upsert(dialect: str, *, floor: bool) -> Any:
    """Upsert of a location's counter (`:l`): the next number (and the floor moved up)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    following = change_counters.c.seq + 1
    return (
        insert(change_counters)
        .values(location_id=sa.bindparam("l"), seq=1, floor_seq=1 if floor else 0)
        .on_conflict_do_update(
            index_elements=[change_counters.c.location_id],
            set_={"seq": following, **({"floor_seq": following} if floor else {})},
        )
        .returning(change_counters.c.seq)
    )


# Built once: a write takes a number per block write, and building the statement costs
# more than running it.
_BUMPS = {(d, f): _upsert(d, floor=f) for d in ("postgresql", "sqlite") for f in (False, True)}


def _bump(conn: AsyncConnection, floor: bool) -> Any:
    return _BUMPS[conn.dialect.name, floor]


async def take_seq(conn: AsyncConnection, location_id: str) -> int:
    """The location's next change number (creating its counter on first use)."""
    return int((await conn.execute(_bump(conn, False), {"l": location_id})).scalar_one())


async def current_seq(conn: AsyncConnection, location_id: str) -> tuple[int, int]:
    """(last committed change number, floor) of the location; (0, 0) before any change.
    Sync tokens standing below the floor are gone."""
    query = sa.select(change_counters.c.seq, change_counters.c.floor_seq).where(
        change_counters.c.location_id == location_id
    )
    row = (await conn.execute(query)).one_or_none()
    return (int(row.seq), int(row.floor_seq)) if row else (0, 0)


async def forget_tokens(conn: AsyncConnection, location_id: str | None = None) -> None:
    """Make every sync token of the location (or of all) gone: after a reset, what a
    client mirrors cannot be brought up to date by changes, it must list again."""
    if location_id is not None:
        await conn.execute(_bump(conn, True), {"l": location_id})
        return
    following = change_counters.c.seq + 1
    await conn.execute(change_counters.update().values(seq=following, floor_seq=following))


def _group_of(calendar: str) -> Any:
    """The group of the calendar named by the parameter `calendar`, read when the statement
    runs: after `take_seq`, which waits for a concurrent move of that calendar to another
    group to commit (the move takes the counter first, see `log_calendar_move`)."""
    return (
        sa.select(calendars.c.group_id)
        .where(
            calendars.c.location_id == sa.bindparam("location_of_group"),
            calendars.c.id == sa.bindparam(calendar),
        )
        .scalar_subquery()
    )


_INSERT_CHANGE = block_changes.insert().values(
    group_id=_group_of("calendar_of_group"), prev_group_id=_group_of("prev_calendar_of_group")
)


async def insert_change(
    conn: AsyncConnection,
    seq: int,
    before: Block | None,
    after: Block | None,
    now_ms: int,
) -> None:
    """Log a block write: created (no `before`), changed, or deleted (no `after`)."""
    block = after or before
    assert block is not None
    prev = before or block
    if block.connection_id is not None and block.assigned_user_id is not None:
        await _insert_synced_change(conn, seq, block, deleted=after is None, now_ms=now_ms)
        return
    await conn.execute(
        _INSERT_CHANGE,
        {
            "location_id": block.location_id,
            "seq": seq,
            "block_id": block.id,
            "deleted": after is None,
            "calendar_id": block.calendar_id,
            "assigned_user_id": block.assigned_user_id,
            "prev_calendar_id": prev.calendar_id,
            "prev_assigned_user_id": prev.assigned_user_id,
            "changed_ms": now_ms,
            "location_of_group": block.location_id,
            "calendar_of_group": block.calendar_id,
            "prev_calendar_of_group": prev.calendar_id,
        },
    )


_TAKE_MORE = (
    change_counters.update()
    .where(change_counters.c.location_id == sa.bindparam("l"))
    .values(seq=change_counters.c.seq + sa.bindparam("n"))
    .returning(change_counters.c.seq)
)


async def _numbers(conn: AsyncConnection, location_id: str, first: int, count: int) -> range:
    """`count` change numbers from `first`, taken already (the counter row is this
    transaction's until it ends, so the next ones are ours)."""
    if count > 1:
        await conn.execute(_TAKE_MORE, {"l": location_id, "n": count - 1})
    return range(first, first + count)


async def user_groups(
    conn: AsyncConnection, location_id: str, user_ids: Sequence[str], besides: str | None = None
) -> dict[str, frozenset[str]]:
    """The groups of each user: those with a calendar that lists the user on its team (the
    groups that hold the user's synced blocks, see store/targets.py); `besides`: leaving
    that calendar out."""
    query = (
        sa.select(calendar_members.c.user_id, calendars.c.group_id)
        .distinct()
        .join(
            calendars,
            sa.and_(
                calendars.c.location_id == calendar_members.c.location_id,
                calendars.c.id == calendar_members.c.calendar_id,
            ),
        )
        .where(
            calendar_members.c.location_id == location_id,
            calendar_members.c.user_id.in_(user_ids),
            calendars.c.group_id.is_not(None),
        )
    )
    if besides is not None:
        query = query.where(calendars.c.id != besides)
    found: dict[str, set[str]] = {user: set() for user in user_ids}
    for row in await conn.execute(query):
        found[row.user_id].add(row.group_id)
    return {user: frozenset(groups) for user, groups in found.items()}


async def _insert_synced_change(
    conn: AsyncConnection, seq: int, block: Block, *, deleted: bool, now_ms: int
) -> None:
    """A synced block's change, recorded once per group its user is in now (read after
    the counter was taken, so after any concurrent team change committed: see
    `log_member_moves`), or once without a group."""
    user = block.assigned_user_id
    assert user is not None
    found = await user_groups(conn, block.location_id, [user])
    groups: list[str | None] = [*sorted(found[user])] or [None]
    numbers = await _numbers(conn, block.location_id, seq, len(groups))
    row = {
        "location_id": block.location_id,
        "block_id": block.id,
        "deleted": deleted,
        "assigned_user_id": user,
        "prev_assigned_user_id": user,
        "changed_ms": now_ms,
    }
    await conn.execute(
        block_changes.insert(),
        [
            {**row, "seq": number, "group_id": group, "prev_group_id": group}
            for number, group in zip(numbers, groups, strict=True)
        ],
    )


Moves = Mapping[str, tuple[frozenset[str], frozenset[str]]]  # user: (groups before, after)


async def log_member_moves(
    conn: AsyncConnection, location_id: str, first: int, moves: Moves, now_ms: int
) -> int:
    """Log the synced blocks of users who entered or left groups (a team or a calendar's
    group changed) as changed: a block enters a group's feed (`group_id`) or leaves it as a
    tombstone there (`prev_group_id`); how many changes, numbered from `first`.

    The caller took the location's counter (`first`) before it read the groups: one team
    change at a time, and a sync that took the counter before has committed the blocks
    listed here; a sync that takes it after reads the groups of after."""
    moved = {user: pair for user, pair in moves.items() if pair[0] != pair[1]}
    if not moved:
        return 0
    query = (
        sa.select(blocks.c.id, blocks.c.assigned_user_id)
        .where(
            blocks.c.location_id == location_id,
            blocks.c.assigned_user_id.in_(list(moved)),
            blocks.c.connection_id.is_not(None),
        )
        .order_by(blocks.c.id)
    )
    rows: list[tuple[str, str, tuple[str | None, str | None]]] = []
    for block_id, user in (await conn.execute(query)).all():
        before, after = moved[user]
        rows += [(block_id, user, (group, None)) for group in sorted(after - before)]
        rows += [(block_id, user, (None, group)) for group in sorted(before - after)]
    if not rows:
        return 0
    numbers = await _numbers(conn, location_id, first, len(rows))
    await conn.execute(
        block_changes.insert(),
        [
            {
                "location_id": location_id,
                "seq": number,
                "block_id": block_id,
                "deleted": False,
                "assigned_user_id": user,
                "prev_assigned_user_id": user,
                "group_id": group,
                "prev_group_id": prev_group,
                "changed_ms": now_ms,
            }
            for number, (block_id, user, (group, prev_group)) in zip(numbers, rows, strict=True)
        ],
    )
    return len(rows)


async def log_calendar_move(
    conn: AsyncConnection,
    location_id: str,
    calendar_id: str,
    groups: tuple[str | None, str | None],
    now_ms: int,
) -> int:
    """Log every block of a calendar moved from group `groups[0]` to `groups[1]` as changed
    (each block leaves the first group's filter and enters the second's); how many.

    The location's counter is taken first: a writer that took it before has committed when
    the blocks are listed (its block is listed and logged here), and one that takes it after
    reads the calendar's new group when it logs its own change."""
    first = await take_seq(conn, location_id)
    rows = await conn.execute(
        sa.select(blocks.c.id)
        .where(blocks.c.location_id == location_id, blocks.c.calendar_id == calendar_id)
        .order_by(blocks.c.id)
    )
    ids = list(rows.scalars())
    if len(ids) > 1:
        await conn.execute(_TAKE_MORE, {"l": location_id, "n": len(ids) - 1})
    if ids:
        await conn.execute(
            block_changes.insert(),
            [
                {
                    "location_id": location_id,
                    "seq": first + offset,
                    "block_id": block_id,
                    "deleted": False,
                    "calendar_id": calendar_id,
                    "prev_calendar_id": calendar_id,
                    "group_id": groups[1],
                    "prev_group_id": groups[0],
                    "changed_ms": now_ms,
                }
                for offset, block_id in enumerate(ids)
            ],
        )
    return len(ids)


def _change_scope(targets: Targets) -> list[Any]:
    """Changes that touched a block of the filter's targets, before or after the write."""
    c = block_changes.c
    calendar, user = (
        (c.calendar_id, c.prev_calendar_id),
        (c.assigned_user_id, c.prev_assigned_user_id),
    )
    return target_scope(
        targets.shape, c.location_id, calendar, user, groups=(c.group_id, c.prev_group_id)
    )


@dataclass(frozen=True)
class ChangeSpan:
    """The change numbers (since, upto] a feed page reads, past `after` (the last number the
    previous page gave)."""

    since: int
    upto: int
    after: int = 0


async def changed_block_ids(
    conn: AsyncConnection,
    location_id: str,
    targets: Targets,
    span: ChangeSpan,
    *,
    limit: int,
) -> list[tuple[str, int]]:
    """(block id, its last change number) of the blocks changed in the span, ordered by that
    number, those past `span.after` only."""
    last = sa.func.max(block_changes.c.seq).label("last")
    query = (
        sa.select(block_changes.c.block_id, last)
        .where(
            *_change_scope(targets),
            block_changes.c.seq > span.since,
            block_changes.c.seq <= span.upto,
        )
        .group_by(block_changes.c.block_id)
        .having(last > span.after)
        .order_by(last)
        .limit(limit)
    )
    rows = await conn.execute(query, target_params(location_id, targets))
    return [(row.block_id, int(row.last)) for row in rows]


def _block_scope(targets: Targets) -> list[Any]:
    return target_scope(
        targets.shape,
        blocks.c.location_id,
        [blocks.c.calendar_id],
        [blocks.c.assigned_user_id],
        synced=Synced(blocks.c.connection_id),
    )


async def blocks_after(
    conn: AsyncConnection,
    location_id: str,
    targets: Targets,
    *,
    after_id: str,
    limit: int,
) -> list[Block]:
    """The filter's blocks with an id past `after_id`, by id."""
    query = (
        sa.select(*_COLUMNS)
        .select_from(_JOIN)
        .where(*_block_scope(targets), blocks.c.id > after_id)
        .order_by(blocks.c.id)
        .limit(limit)
    )
    return [_block(row) for row in await conn.execute(query, target_params(location_id, targets))]


async def blocks_by_id(
    conn: AsyncConnection, location_id: str, targets: Targets, ids: Sequence[str]
) -> dict[str, Block]:
    """Those of `ids` that are stored blocks of the filter."""
    if not ids:
        return {}
    query = (
        sa.select(*_COLUMNS).select_from(_JOIN).where(*_block_scope(targets), blocks.c.id.in_(ids))
    )
    rows = await conn.execute(query, target_params(location_id, targets))
    return {block.id: block for block in map(_block, rows)}


PRUNE_BATCH = 5_000


async def prune_changes(conn: AsyncConnection, before_ms: int, batch: int = PRUNE_BATCH) -> int:
    """Forget the changes logged before `before_ms` (past the tombstone retention), `batch`
    rows a statement: after a long pause the backlog may be large, and each statement must
    end within the statement timeout."""
    key = sa.tuple_(block_changes.c.location_id, block_changes.c.seq)
    doomed = (
        sa.select(block_changes.c.location_id, block_changes.c.seq)
        .where(block_changes.c.changed_ms < before_ms)
        .limit(batch)
    )
    total = 0
    while True:
        result = await conn.execute(block_changes.delete().where(key.in_(doomed)))
        total += int(result.rowcount)
        if result.rowcount < batch:
            return total
