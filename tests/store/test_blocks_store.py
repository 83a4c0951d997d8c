"""store.blocks on every backend: every Block field round-trips, writes are scoped by
location, and the window query finds exactly the blocks that can overlap."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from slotblock.core.model import Block, Override, Targets
from slotblock.store import Store, directory
from slotblock.store import blocks as block_store
from tests.store.rows import NOW, Place, block, place

pytestmark = pytest.mark.anyio
H = 3_600_000
DAY = 24 * H


async def stored(store: Store, p: Place, block_id: str) -> Block | None:
    async with store.read() as conn:
        found = await block_store.get_block(conn, p.location.id, block_id)
    return found[0] if found else None


async def test_every_field_round_trips(store: Store) -> None:
    p = await place(store)
    written = block(
        p, "b1", 10 * DAY, title="t", description="d", notes="n", address="a",
        rrule="RRULE:FREQ=DAILY;COUNT=3", last_start_ms=12 * DAY, created_ms=1, updated_ms=2,
        overrides=(Override(11 * DAY, 11 * DAY + H, 11 * DAY + 2 * H, {"title": "moved"}),),
    )  # fmt: skip
    async with store.begin() as conn:
        await block_store.insert_block(conn, written)
    async with store.read() as conn:
        found = await block_store.get_block(conn, p.location.id, "b1")
    assert found is not None
    read, version = found
    assert version == read.version == 1
    assert read == replace(written, group_id=p.group.id, version=1)
    assert {f.name for f in fields(Block)} >= {"title", "overrides", "group_id", "version"}


async def test_user_blocks_and_tenancy(store: Store) -> None:
    p, other = await place(store, "1"), await place(store, "2")
    mine = block(p, "b1", 0, calendar_id=None, assigned_user_id=p.user_id)
    async with store.begin() as conn:
        await block_store.insert_blocks(conn, [mine, block(other, "b1", 5 * H)])
        await block_store.insert_blocks(conn, [])
    read = await stored(store, p, "b1")
    assert read == replace(mine, version=1)  # no calendar, so no group
    theirs = await stored(store, other, "b1")
    assert theirs is not None and theirs.start_ms == 5 * H
    async with store.begin() as conn:
        assert await block_store.delete_block(conn, p.location.id, "b1")
        assert not await block_store.delete_block(conn, p.location.id, "b1")
    assert await stored(store, p, "b1") is None
    assert await stored(store, other, "b1") is not None


async def test_replace_is_compare_and_set_and_bumps_the_version(store: Store) -> None:
    p = await place(store)
    async with store.begin() as conn:
        await block_store.insert_block(conn, block(p, "b1", 0))
        assert await block_store.replace_block(conn, block(p, "b1", H, title="x"), 1)
        assert not await block_store.replace_block(conn, block(p, "b1", 2 * H), 1)
        assert not await block_store.replace_block(conn, block(p, "nosuch", 0), 1)
    assert await stored(store, p, "b1") == replace(
        block(p, "b1", H, title="x"), group_id=p.group.id, version=2
    )


async def test_calendar_has_blocks(store: Store) -> None:
    p = await place(store)
    async with store.begin() as conn:
        assert not await block_store.calendar_has_blocks(conn, p.location.id, p.calendar.id)
        await block_store.insert_block(conn, block(p, "b1", 0))
        assert await block_store.calendar_has_blocks(conn, p.location.id, p.calendar.id)


async def window(store: Store, p: Place, start: int, end: int, **targets: str) -> list[str]:
    async with store.read() as conn:
        found = await block_store.blocks_in_window(
            conn, p.location.id, start, end, Targets(**targets)
        )
    return sorted(b.id for b in found)


async def test_window_overlap_is_half_open_and_finds_long_blocks(store: Store) -> None:
    p = await place(store)
    rows = [
        block(p, "before", 9 * DAY - H),  # ends at the window's start: out
        block(p, "inside", 10 * DAY),
        block(p, "at_end", 11 * DAY),  # starts at the window's end: out
        block(p, "running", 9 * DAY + 23 * H, minutes=120),  # started before, still on
        block(p, "long", 2 * DAY, minutes=20 * 24 * 60),  # longer than a day, long ago
        block(p, "series", 0, rrule="RRULE:FREQ=DAILY", last_start_ms=None),  # endless
        block(p, "ended", 0, rrule="RRULE:FREQ=DAILY;COUNT=2", last_start_ms=DAY),
        block(p, "moved_in", 0, rrule="RRULE:FREQ=DAILY;COUNT=1", last_start_ms=0,
              overrides=(Override(0, 10 * DAY, 10 * DAY + H, {}),)),
    ]  # fmt: skip
    async with store.begin() as conn:
        await block_store.insert_blocks(conn, rows)
    found = await window(store, p, 9 * DAY, 11 * DAY, calendar_id=p.calendar.id)
    assert found == ["inside", "long", "moved_in", "running", "series"]


async def test_window_filters_combine_with_and(store: Store) -> None:
    p, other = await place(store, "1"), await place(store, "2")
    async with store.begin() as conn:
        await directory.insert_calendar(conn, replace(p.calendar, id="c2", group_id=None), NOW)
        await block_store.insert_blocks(
            conn,
            [
                block(p, "cal", 0),
                block(p, "c2", 0, calendar_id="c2"),
                block(p, "user", 0, calendar_id=None, assigned_user_id=p.user_id),
                block(other, "elsewhere", 0),
            ],
        )
    span = (0, DAY)
    assert await window(store, p, *span, calendar_id=p.calendar.id) == ["cal"]
    assert await window(store, p, *span, calendar_id="c2") == ["c2"]
    assert await window(store, p, *span, user_id=p.user_id) == ["user"]
    assert await window(store, p, *span, group_id=p.group.id) == ["cal"]
    assert await window(store, p, *span, group_id=p.group.id, calendar_id="c2") == []
    assert await window(store, p, *span, group_id=p.group.id, user_id=p.user_id) == []


async def test_missing_targets_names_domain_targets(store: Store) -> None:
    p, other = await place(store, "1"), await place(store, "2")
    async with store.read() as conn:
        missing = block_store.missing_targets
        mine = Targets(calendar_id=p.calendar.id, user_id=p.user_id, group_id=p.group.id)
        assert await missing(conn, p.location.id, mine) == []
        assert await missing(
            conn, p.location.id, Targets(calendar_id="x", user_id="y", group_id="z")
        ) == ["calendar", "user", "group"]
        assert await missing(conn, other.location.id, Targets(user_id="nope")) == ["user"]
