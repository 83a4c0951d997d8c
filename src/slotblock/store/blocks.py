"""Queries for blocks (one-off blocks and series masters, with their overrides)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core.isotime import MAX_MS
from slotblock.core.model import Block, Override, TargetKind, Targets
from slotblock.store.integrity import writing
from slotblock.store.tables import SHORT_SPAN_MS, blocks, calendars, groups, users
from slotblock.store.targets import GroupPath, Synced, target_params, target_scope

_GONE = "Calendar or user not found"
_COLUMNS = (*blocks.c, calendars.c.group_id)  # blocks.c includes version
_JOIN = blocks.outerjoin(
    calendars,
    sa.and_(
        calendars.c.location_id == blocks.c.location_id,
        calendars.c.id == blocks.c.calendar_id,
    ),
)


# The row <-> Block mapping follows the dataclass: a Block field is read from the column of
# its name and written to it. Only `overrides` is encoded (JSON); `group_id` is the joined
# calendar's and `version` is the store's own, so neither is written from a Block.
_READ = tuple(f.name for f in fields(Block) if f.name != "overrides")
_WRITTEN = tuple(name for name in _READ if name not in ("group_id", "version"))


def _block(row: Any) -> Block:
    values = row._mapping  # by key: as fast as spelling every attribute out
    return Block(
        **{name: values[name] for name in _READ},
        overrides=tuple(
            Override(
                original_start_ms=item["o"],
                start_ms=item["s"],
                end_ms=item["e"],
                fields=item.get("f", {}),
            )
            for item in row.overrides
        ),
    )


def _values(block: Block) -> dict[str, Any]:
    """The row of a block, with the candidate-selection bounds derived from it."""
    recurring = block.rrule is not None
    starts = [block.start_ms, *(o.start_ms for o in block.overrides)]
    if recurring:
        last = block.last_start_ms
        ends = [MAX_MS if last is None else last + block.duration_ms]
    else:
        ends = [block.end_ms]
    ends += [o.end_ms for o in block.overrides]
    return {
        **{name: getattr(block, name) for name in _WRITTEN},
        "long_span": recurring or block.duration_ms > SHORT_SPAN_MS,
        "bound_start_ms": min(starts),
        "bound_end_ms": min(MAX_MS, max(ends)),
        "overrides": [
            {"o": o.original_start_ms, "s": o.start_ms, "e": o.end_ms, "f": o.fields}
            for o in sorted(block.overrides, key=lambda o: o.original_start_ms)
        ],
    }


async def insert_block(conn: AsyncConnection, block: Block) -> None:
    await insert_blocks(conn, [block])


_INSERT = blocks.insert()  # built once (building it costs more than running it)


async def insert_blocks(conn: AsyncConnection, many: Sequence[Block]) -> None:
    """Insert blocks in one executemany (bulk loads use it too)."""
    if many:
        with writing(duplicate="a block with that id already exists", missing=_GONE):
            rows = [{**_values(b), "version": 1} for b in many]
            await conn.execute(_INSERT, rows[0] if len(rows) == 1 else rows)


async def get_block(
    conn: AsyncConnection, location_id: str, block_id: str, *, lock: bool = False
) -> tuple[Block, int] | None:
    """The block and its version, or None. `lock`: held against other writers (PostgreSQL
    `FOR UPDATE`) until the transaction ends, so that writers to one block queue up."""
    query = (
        sa.select(*_COLUMNS)
        .select_from(_JOIN)
        .where(blocks.c.location_id == location_id, blocks.c.id == block_id)
    )
    if lock:
        query = query.with_for_update(of=blocks)
    row = (await conn.execute(query)).one_or_none()
    return (_block(row), row.version) if row else None


async def replace_block(conn: AsyncConnection, block: Block, version: int) -> bool:
    """Write `block` over the stored one if it is still at `version`; False if it moved on."""
    with writing(duplicate="a block with that id already exists", missing=_GONE):
        result = await conn.execute(
            blocks.update()
            .where(
                blocks.c.location_id == block.location_id,
                blocks.c.id == block.id,
                blocks.c.version == version,
            )
            .values(**_values(block), version=version + 1)
        )
    return result.rowcount == 1


async def delete_block(conn: AsyncConnection, location_id: str, block_id: str) -> bool:
    result = await conn.execute(
        blocks.delete().where(blocks.c.location_id == location_id, blocks.c.id == block_id)
    )
    return result.rowcount == 1


async def blocks_of_connection(
    conn: AsyncConnection, location_id: str, connection_id: str, *, lock: bool = False
) -> list[tuple[Block, int]]:
    """A connected calendar's synced blocks and their versions (`lock`: held for this
    transaction's writes, as `get_block`'s)."""
    query = (
        sa.select(*_COLUMNS)
        .select_from(_JOIN)
        .where(blocks.c.location_id == location_id, blocks.c.connection_id == connection_id)
    )
    if lock:
        query = query.with_for_update(of=blocks)
    return [(_block(row), row.version) for row in await conn.execute(query)]


async def calendar_has_blocks(conn: AsyncConnection, location_id: str, calendar_id: str) -> bool:
    query = sa.select(blocks.c.id).where(
        blocks.c.location_id == location_id, blocks.c.calendar_id == calendar_id
    )
    return (await conn.execute(query.limit(1))).first() is not None


@lru_cache(maxsize=8)
def _window_statement(shape: tuple[bool, bool, bool]) -> sa.CompoundSelect[Any]:
    """The window statement for one shape of target filter, built once (building a
    statement costs more than running it), with bound parameters for every value.

    A group filter reads the group's calendars' blocks and its team members' synced blocks
    (see store/targets.py) in parts of their own: each part is a range scan of one index
    (by calendar, by user), where one condition joining both would scan the location."""
    paths: tuple[GroupPath, ...] = ("calendars", "members") if shape[2] else ("either",)
    parts = [part for path in paths for part in _window_parts(shape, path)]
    return sa.union_all(*parts)


def _window_parts(shape: tuple[bool, bool, bool], path: GroupPath) -> list[sa.Select[Any]]:
    """Short one-off blocks by start, and long blocks and series by their stored bounds."""
    scope = target_scope(
        shape,
        blocks.c.location_id,
        [blocks.c.calendar_id],
        [blocks.c.assigned_user_id],
        synced=Synced(blocks.c.connection_id, path),
    )
    start: sa.BindParameter[int] = sa.bindparam("start_ms")
    end: sa.BindParameter[int] = sa.bindparam("end_ms")
    short = (
        sa.select(*_COLUMNS)
        .select_from(_JOIN)
        .where(
            *scope,
            blocks.c.long_span.is_(False),
            blocks.c.start_ms > sa.bindparam("short_from"),
            blocks.c.start_ms < end,
            blocks.c.end_ms > start,
        )
    )
    long = (
        sa.select(*_COLUMNS)
        .select_from(_JOIN)
        .where(
            *scope,
            blocks.c.long_span.is_(True),
            blocks.c.bound_end_ms > start,
            blocks.c.bound_start_ms < end,
        )
    )
    return [short, long]


def _window_params(
    location_id: str, start_ms: int, end_ms: int, targets: Targets
) -> tuple[sa.CompoundSelect[Any], dict[str, Any]]:
    params = target_params(location_id, targets)
    params |= {"start_ms": start_ms, "end_ms": end_ms, "short_from": start_ms - SHORT_SPAN_MS}
    return _window_statement(targets.shape), params


def window_query(
    location_id: str, start_ms: int, end_ms: int, targets: Targets
) -> sa.CompoundSelect[Any]:
    """One statement selecting every block of `targets` that can overlap [start_ms, end_ms).

    Two index range scans, UNION ALL: short one-off blocks by start (bounded below by
    SHORT_SPAN_MS), and long blocks and series by their stored bounds.
    """
    statement, params = _window_params(location_id, start_ms, end_ms, targets)
    return statement.params(**params)


async def blocks_in_window(
    conn: AsyncConnection, location_id: str, start_ms: int, end_ms: int, targets: Targets
) -> list[Block]:
    statement, params = _window_params(location_id, start_ms, end_ms, targets)
    rows = await conn.execute(statement, params)
    return [_block(row) for row in rows]


_TARGET_TABLES = {"calendar": calendars, "user": users, "group": groups}


async def missing_targets(
    conn: AsyncConnection, location_id: str, targets: Targets
) -> list[TargetKind]:
    """The kinds of the given targets that are not in the location, in the order calendar,
    user, group."""
    missing: list[TargetKind] = []
    for kind, value in targets.given():
        table = _TARGET_TABLES[kind]
        query = sa.select(table.c.id).where(table.c.location_id == location_id, table.c.id == value)
        if (await conn.execute(query)).first() is None:
            missing.append(kind)
    return missing
