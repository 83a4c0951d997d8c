"""The sync-token feed: first listing paged, then only what changed (tombstones for deleted
blocks), tokens bound to location and filter, 410 past retention, and no change skipped
while writers run."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest

from slotblock.core import changefeed_tokens as changefeed
from slotblock.core.model import SCOPES, Location, Targets, TokenInfo
from slotblock.core.tokens import hash_token
from slotblock.service.calendars import CalendarInput
from slotblock.service.container import Services
from slotblock.store import Store, directory
from slotblock.store import changes as change_store
from slotblock.store import tokens as token_store
from slotblock.toolkit.service.fixtures import FixtureService, RuleLimits
from tests.api.calls import create, delete, edit
from tests.conftest import Clock, Tenant

pytestmark = pytest.mark.anyio
CHANGES = "/calendars/blocked-slots/changes"
DAY_MS = 86_400_000


def at(hour: int) -> dict[str, str]:
    return {"startTime": f"2023-04-03T{hour:02}:00:00+05:30",
            "endTime": f"2023-04-03T{hour:02}:30:00+05:30"}  # fmt: skip


async def page(client: httpx.AsyncClient, t: Tenant, **params: Any) -> httpx.Response:
    query = {"locationId": t.location_id, **params}
    return await client.get(CHANGES, params=query, headers=t.headers())


async def sync(
    client: httpx.AsyncClient, t: Tenant, token: str | None = None, **params: Any
) -> tuple[list[dict[str, Any]], str]:
    """Every page of one sync: (items, nextSyncToken)."""
    items: list[dict[str, Any]] = []
    given = {"syncToken": token} if token else {}
    while True:
        response = await page(client, t, **given, **params)
        assert response.status_code == 200, response.text
        data = response.json()
        items += data["events"]
        if "nextSyncToken" in data:
            assert "nextPageToken" not in data
            return items, data["nextSyncToken"]
        given = {"pageToken": data["nextPageToken"]}


async def test_first_sync_lists_every_block_page_by_page(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    made = [await create(client, tenant, **at(h)) for h in range(9, 14)]
    series = await create(client, tenant, **at(15), rrule="RRULE:FREQ=DAILY;COUNT=3")
    instance = f"{series['id']}_1680514200000_1800"
    assert (await edit(client, tenant, instance, title="moved")).status_code == 201
    first = (await page(client, tenant, maxResults=2)).json()
    assert len(first["events"]) == 2 and "nextSyncToken" not in first
    items, _ = await sync(client, tenant, maxResults=2)
    assert sorted(i["id"] for i in items) == sorted([*(m["id"] for m in made), series["id"]])
    [master] = [i for i in items if i["id"] == series["id"]]
    assert master["rrule"].startswith("RRULE:FREQ=DAILY;COUNT=3")
    assert [o["id"] for o in master["overrides"]] == [instance]
    assert master["overrides"][0]["title"] == "moved"


async def test_a_sync_token_gives_only_what_changed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    kept = await create(client, tenant, **at(9))
    changed = await create(client, tenant, **at(10))
    gone = await create(client, tenant, **at(11))
    series = await create(client, tenant, **at(12), rrule="RRULE:FREQ=DAILY;COUNT=3")
    _, token = await sync(client, tenant)
    assert await sync(client, tenant, token) == ([], token)
    await edit(client, tenant, changed["id"], title="changed")
    await delete(client, tenant, gone["id"])
    await delete(client, tenant, f"{series['id']}_1680589800000_1800")  # the 2nd instance
    new = await create(client, tenant, **at(14))
    items, token2 = await sync(client, tenant, token)
    by_id = {i["id"]: i for i in items}
    assert set(by_id) == {changed["id"], gone["id"], series["id"], new["id"]}
    assert kept["id"] not in by_id
    assert by_id[changed["id"]]["title"] == "changed"
    assert by_id[gone["id"]] == {
        "id": gone["id"],
        "locationId": tenant.location_id,
        "deleted": True,
    }
    assert "EXDATE" in by_id[series["id"]]["rrule"]
    assert (await sync(client, tenant, token2))[0] == []


async def test_tokens_are_bound_to_location_and_filter(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant
) -> None:
    _, token = await sync(client, tenant, calendarId=tenant.calendar_id)
    for params in ({}, {"calendarId": tenant.calendar_id, "userId": tenant.user_id}):
        response = await page(client, tenant, syncToken=token, **params)
        assert response.status_code == 400
        assert "syncToken" in response.json()["message"][0]
    assert (await page(client, tenant, syncToken="not-a-token")).status_code == 400
    foreign = await client.get(
        CHANGES, params={"locationId": other.location_id, "syncToken": token},
        headers=other.headers(),
    )  # fmt: skip
    assert foreign.status_code == 400
    assert (await page(client, tenant, maxResults=0)).status_code == 400


async def test_a_block_moved_out_of_the_filter_is_a_tombstone_there(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    second = await services.calendars.add_calendar(
        tenant.location_id, CalendarInput(name="Second", team_members=({"userId": tenant.user_id},))
    )
    block = await create(client, tenant, **at(9))
    _, here = await sync(client, tenant, calendarId=tenant.calendar_id)
    _, there = await sync(client, tenant, calendarId=second.id)
    in_group, group_token = await sync(client, tenant, groupId=tenant.group_id)
    assert [b["id"] for b in in_group] == [block["id"]]
    assert (await edit(client, tenant, block["id"], calendarId=second.id)).status_code == 201
    left, _ = await sync(client, tenant, here, calendarId=tenant.calendar_id)
    arrived, _ = await sync(client, tenant, there, calendarId=second.id)
    tombstone = {"id": block["id"], "locationId": tenant.location_id, "deleted": True}
    assert left == [tombstone]
    assert [a["id"] for a in arrived] == [block["id"]] and arrived[0]["calendarId"] == second.id
    left_group, _ = await sync(client, tenant, group_token, groupId=tenant.group_id)
    assert left_group == [tombstone]
    by_group, _ = await sync(client, tenant, groupId=tenant.group_id)
    assert by_group == []  # the second calendar is in no group


async def test_a_token_past_the_retention_is_gone(
    client: httpx.AsyncClient, tenant: Tenant, clock: Clock, services: Services
) -> None:
    _, token = await sync(client, tenant)
    clock.now_ms += 7 * DAY_MS
    assert (await page(client, tenant, syncToken=token)).status_code == 200
    clock.now_ms += 1
    gone = await page(client, tenant, syncToken=token)
    assert gone.status_code == 410
    assert gone.json()["error"] == "Gone"
    assert services.changes.settings.sync_retention_days == 7
    assert (await page(client, tenant)).status_code == 200  # start over without a token


async def test_the_page_size_is_bounded_by_the_setting(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    for h in range(9, 13):
        await create(client, tenant, **at(h))
    services.changes.settings = services.changes.settings.model_copy(update={"sync_page_size": 3})
    response = (await page(client, tenant, maxResults=100)).json()
    assert len(response["events"]) == 3 and "nextPageToken" in response


async def test_a_mirror_kept_by_sync_equals_the_store_under_concurrent_writes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Writers create, edit and delete while a reader keeps syncing page by page; after the
    last write, one more sync leaves the mirror equal to the stored blocks."""
    rng = random.Random(12)
    live: list[str] = []
    mirror: dict[str, dict[str, Any]] = {}
    done = asyncio.Event()

    async def writer(n: int) -> None:
        for i in range(12):
            roll = rng.random()
            if live and roll < 0.3:
                await delete(client, tenant, live.pop(rng.randrange(len(live))))
            elif live and roll < 0.6:
                await edit(client, tenant, rng.choice(live), title=f"w{n}-{i}")
            else:
                live.append((await create(client, tenant, **at(9 + i % 10)))["id"])

    def apply(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("deleted"):
                mirror.pop(item["id"], None)
            else:
                mirror[item["id"]] = item

    async def reader() -> None:
        items, token = await sync(client, tenant, maxResults=3)
        apply(items)
        while not done.is_set():
            items, token = await sync(client, tenant, token, maxResults=2)
            apply(items)
        items, token = await sync(client, tenant, token, maxResults=2)
        apply(items)

    async def writers() -> None:
        await asyncio.gather(*(writer(n) for n in range(3)))
        done.set()

    await asyncio.gather(reader(), writers())
    stored, _ = await sync(client, tenant)
    assert {i["id"]: (i["title"], i["dateUpdated"]) for i in stored} == {
        i["id"]: (i["title"], i["dateUpdated"]) for i in mirror.values()
    }
    assert sorted(mirror) == sorted(live)


async def test_a_write_not_yet_committed_holds_later_writes_back(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    """A change number taken by an open transaction keeps later writers of the location
    waiting, so no sync token can stand past a number that may still commit."""
    _, token = await sync(client, tenant)
    async with store.begin() as conn:
        await change_store.take_seq(conn, tenant.location_id)
        later = asyncio.create_task(create(client, tenant, **at(10)))
        await asyncio.sleep(0.5)
        assert not later.done()
        items, token = await sync(client, tenant, token)
        assert items == []
    created = await later
    items, _ = await sync(client, tenant, token)
    assert [i["id"] for i in items] == [created["id"]]


async def test_forged_tokens_are_400_not_500(client: httpx.AsyncClient, tenant: Tenant) -> None:
    scope = changefeed.scope_of(tenant.location_id, Targets())
    key = b"not the server's key"
    forged = [
        changefeed.encode(changefeed.Position("changes", scope, since="x", issued_ms=2**62), key),  # type: ignore[arg-type]
        changefeed.encode(changefeed.Position("all", scope, after=3, issued_ms=2**62), key),
        changefeed.encode(changefeed.Position("bogus", scope, issued_ms=2**62), key),  # type: ignore[arg-type]
        "eyJtb2RlIjogMX0",  # {"mode": 1}
        "%%%",
    ]
    for token in forged:
        for name in ("syncToken", "pageToken"):
            response = await page(client, tenant, **{name: token})
            assert response.status_code == 400, (token, response.text)


@pytest.mark.parametrize("whole", [False, True])
async def test_a_reset_makes_older_tokens_gone(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: Clock, whole: bool
) -> None:
    await create(client, tenant, **at(9))
    _, token = await sync(client, tenant)
    await FixtureService(store, RuleLimits(), clock).reset(None if whole else tenant.location_id)
    # the same location, token and ids again, as a fixture load would bring them back
    async with store.begin() as conn:
        await directory.insert_location(conn, Location(tenant.location_id, "L", "UTC"), 0)
        await token_store.insert_token(
            conn, TokenInfo("t1", tenant.location_id, "", SCOPES, 0, None), hash_token(tenant.token)
        )
    gone = await page(client, tenant, syncToken=token)
    assert gone.status_code == 410
    assert gone.json()["message"] == (
        "the location was reset since this sync token; sync again without a token"
    )
    items, fresh = await sync(client, tenant)
    assert items == []
    assert (await page(client, tenant, syncToken=fresh)).status_code == 200
