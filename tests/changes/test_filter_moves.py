"""Filtered change feeds follow blocks that move into or out of their filter without being
written themselves: a calendar moved to another group (its blocks leave the old group's
feed and enter the new one's), a block moved to another calendar or user, a calendar taken
out of its group or put into one. Each filter is followed as a mirror would (the README's
follow loop: list, then sync with the last token, applying blocks and tombstones), and the
mirror is compared with a fresh blocked-slots listing of the same filter. Both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from slotblock.service.container import Services
from tests.api.calls import create, edit
from tests.changes.test_changes_feed import sync
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio
WINDOW = {"startTime": "1680307200000", "endTime": "1680912000000"}  # 2023-04-01 .. 04-08 UTC


def at(day: int, hour: int) -> dict[str, str]:
    return {"startTime": f"2023-04-0{day}T{hour:02}:00:00+05:30",
            "endTime": f"2023-04-0{day}T{hour:02}:30:00+05:30"}  # fmt: skip


class Mirror:
    """A follower of one filter of the feed: what it holds, by block id."""

    def __init__(self, client: httpx.AsyncClient, tenant: Tenant, **filters: str) -> None:
        self.client, self.tenant, self.filters = client, tenant, filters
        self.blocks: dict[str, dict[str, Any]] = {}
        self.token: str | None = None

    async def follow(self) -> None:
        items, self.token = await sync(self.client, self.tenant, self.token, **self.filters)
        for item in items:
            if item.get("deleted"):
                self.blocks.pop(item["id"], None)
            else:
                self.blocks[item["id"]] = item

    async def listed(self) -> dict[str, str]:
        """A fresh get-blocked-slots of the filter: id → groupId."""
        params = {"locationId": self.tenant.location_id, **WINDOW, **self.filters}
        answer = await self.client.get(
            "/calendars/blocked-slots", params=params, headers=self.tenant.headers()
        )
        assert answer.status_code == 200, answer.text
        return {event["id"]: event["groupId"] for event in answer.json()["events"]}

    async def check(self) -> None:
        await self.follow()
        mirrored = {block_id: block["groupId"] for block_id, block in self.blocks.items()}
        assert mirrored == await self.listed(), self.filters


async def _group(client: httpx.AsyncClient, t: Tenant, name: str) -> str:
    body = {"locationId": t.location_id, "name": name, "description": "", "slug": name}
    made = await client.post("/calendars/groups", json=body, headers=t.headers())
    assert made.status_code == 201, made.text
    group_id: str = made.json()["group"]["id"]
    return group_id


async def _calendar(client: httpx.AsyncClient, t: Tenant, group_id: str | None) -> str:
    body = {"locationId": t.location_id, "name": "c", "groupId": group_id or ""}
    made = await client.post("/calendars/", json=body, headers=t.headers())
    assert made.status_code == 200, made.text
    calendar_id: str = made.json()["calendar"]["id"]
    return calendar_id


async def _move_calendar(client: httpx.AsyncClient, t: Tenant, calendar: str, group: str) -> None:
    moved = await client.put(f"/calendars/{calendar}", json={"groupId": group}, headers=t.headers())
    assert moved.status_code == 200, moved.text


async def test_a_calendar_moved_to_another_group_moves_its_blocks_between_group_feeds(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    g1, g2 = tenant.group_id, await _group(client, tenant, "g2")
    c1, c2 = tenant.calendar_id, await _calendar(client, tenant, g2)
    for hour in (9, 10, 11):
        await create(client, tenant, calendarId=c1, **at(3, hour))
    await create(client, tenant, calendarId=c2, **at(3, 12))
    mirrors = [Mirror(client, tenant, groupId=g) for g in (g1, g2)]
    mirrors.append(Mirror(client, tenant, calendarId=c1))
    for mirror in mirrors:
        await mirror.follow()
    assert [len(m.blocks) for m in mirrors] == [3, 1, 3]

    await _move_calendar(client, tenant, c1, g2)
    for mirror in mirrors:
        await mirror.check()  # G1 gets 3 tombstones, G2 the 3 blocks, C1 their new groupId
    assert [len(m.blocks) for m in mirrors] == [0, 4, 3]

    await _move_calendar(client, tenant, c1, "")  # out of every group
    for mirror in mirrors:
        await mirror.check()
    await _move_calendar(client, tenant, c1, g1)  # and back
    for mirror in mirrors:
        await mirror.check()
    assert [len(m.blocks) for m in mirrors] == [3, 1, 3]


async def test_blocks_moved_to_another_calendar_or_user_leave_and_enter_feeds(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    g1, g2 = tenant.group_id, await _group(client, tenant, "g2")
    c1, c2 = tenant.calendar_id, await _calendar(client, tenant, g2)
    u1 = tenant.user_id
    u2 = await services.tenants.create_user(tenant.location_id, "Second")
    on_c1 = await create(client, tenant, calendarId=c1, **at(4, 9))
    of_u1 = await create(client, tenant, assignedUserId=u1, **at(4, 10))
    mirrors = [
        Mirror(client, tenant, groupId=g1),
        Mirror(client, tenant, groupId=g2),
        Mirror(client, tenant, userId=u1),
        Mirror(client, tenant, userId=u2),
    ]
    for mirror in mirrors:
        await mirror.follow()

    assert (await edit(client, tenant, on_c1["id"], calendarId=c2)).status_code == 201
    assert (await edit(client, tenant, of_u1["id"], assignedUserId=u2)).status_code == 201
    for mirror in mirrors:
        await mirror.check()
    assert [len(m.blocks) for m in mirrors] == [0, 1, 0, 1]

    # a calendar moved after its block moved in: the feeds still agree with the listings
    await _move_calendar(client, tenant, c2, g1)
    for mirror in mirrors:
        await mirror.check()
    assert [len(m.blocks) for m in mirrors] == [1, 0, 0, 1]


async def test_a_user_with_blocks_is_not_removed_so_no_feed_loses_track(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    other = await services.tenants.create_user(tenant.location_id, "Leaving")
    await create(client, tenant, assignedUserId=other, **at(5, 9))
    mirror = Mirror(client, tenant, userId=other)
    await mirror.follow()
    with pytest.raises(Exception, match="has blocks"):
        await services.tenants.delete_user(tenant.location_id, other)
    await mirror.check()
    assert len(mirror.blocks) == 1


async def test_writes_racing_group_moves_leave_every_group_feed_right(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    g1, g2 = tenant.group_id, await _group(client, tenant, "g2")
    c1 = tenant.calendar_id
    made = [await create(client, tenant, calendarId=c1, **at(6, hour)) for hour in (8, 9)]
    mirrors = [Mirror(client, tenant, groupId=g) for g in (g1, g2)]
    for mirror in mirrors:
        await mirror.follow()
    for round_ in range(3):
        writes = [
            client.post(
                "/calendars/events/block-slots",
                json={"locationId": tenant.location_id, "calendarId": c1, **at(round_ + 1, h)},
                headers=tenant.headers(),
            )
            for h in range(10, 16)
        ]
        writes += [edit(client, tenant, block["id"], title=f"r{round_}") for block in made]
        moves = [_move_calendar(client, tenant, c1, g) for g in (g2, g1, g2)]
        answers = await asyncio.gather(*writes, *moves)
        assert all(a is None or a.status_code == 201 for a in answers)
        for mirror in mirrors:
            await mirror.check()
    # the moves raced each other too: the calendar is in whichever group was set last
    now_in = (await client.get(f"/calendars/{c1}", headers=tenant.headers())).json()
    expected = [20, 0] if now_in["calendar"]["groupId"] == g1 else [0, 20]
    assert [len(m.blocks) for m in mirrors] == expected
