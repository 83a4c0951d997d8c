"""Races end in a defined answer: 16 writers on one series, deletes of calendars and
groups against writes onto them, an instance delete against a series edit. Both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from slotblock.core.errors import AlreadyExists, ReferenceMissing
from slotblock.core.isotime import parse_iso
from slotblock.core.model import Group, Location
from slotblock.store import Store, directory
from tests.api.calls import create, delete, edit, events
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio

DAY = 86_400_000
START = "2023-04-03T09:30:00+05:30"
MS = parse_iso(START)
WINDOW = (MS - DAY, MS + 40 * DAY)


async def daily(client: httpx.AsyncClient, t: Tenant) -> dict[str, Any]:
    return await create(
        client, t, startTime=START, endTime="2023-04-03T10:00:00+05:30", rrule="FREQ=DAILY"
    )


async def test_sixteen_writers_on_one_series_get_no_409(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    master = await daily(client, tenant)
    for round_ in range(3):
        ids = [f"{master['id']}_{MS + (round_ * 16 + i) * DAY}_1800" for i in range(16)]
        answers = await asyncio.gather(
            *(edit(client, tenant, i, title=f"writer {n}") for n, i in enumerate(ids))
        )
        assert [a.status_code for a in answers] == [201] * 16
        found = await events(client, tenant, MS - DAY, MS + 60 * DAY)
        titles = {e["id"]: e["title"] for e in found}
        assert all(titles[i] == f"writer {n}" for n, i in enumerate(ids))  # nothing lost


async def test_instance_deletes_and_series_edits_racing_lose_no_delete(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    master = await daily(client, tenant)
    doomed = [f"{master['id']}_{MS + i * DAY}_1800" for i in range(1, 9)]
    calls = [delete(client, tenant, i) for i in doomed]
    calls += [
        edit(client, tenant, master["id"], rrule="FREQ=DAILY", title=f"e{n}") for n in range(8)
    ]
    answers = await asyncio.gather(*calls)
    assert [a.status_code for a in answers] == [201] * 16
    left = {e["id"] for e in await events(client, tenant, *WINDOW)}
    assert not left & set(doomed)


async def test_series_edit_with_rrule_keeps_stored_exdates(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    master = await daily(client, tenant)
    gone = f"{master['id']}_{MS + DAY}_1800"
    assert (await delete(client, tenant, gone)).status_code == 201
    # a client that read the series before the delete sends its old rule back
    answer = await edit(client, tenant, master["id"], rrule="RRULE:FREQ=DAILY")
    assert answer.status_code == 201
    assert "EXDATE:" in answer.json()["rrule"]
    assert gone not in {e["id"] for e in await events(client, tenant, *WINDOW)}


async def _race(*calls: Any) -> list[int]:
    answers = await asyncio.gather(*calls)
    return [a.status_code for a in answers]


async def test_calendar_delete_racing_block_writes_is_never_a_500(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    seen: set[int] = set()
    for _ in range(6):
        made = await client.post(
            "/calendars/",
            json={"locationId": tenant.location_id, "name": "doomed"},
            headers=tenant.headers(),
        )
        calendar_id = made.json()["calendar"]["id"]
        body = {
            "locationId": tenant.location_id,
            "calendarId": calendar_id,
            "startTime": START,
            "endTime": "2023-04-03T10:00:00+05:30",
        }
        seen |= set(
            await _race(
                *(
                    client.post(
                        "/calendars/events/block-slots", json=body, headers=tenant.headers()
                    )
                    for _ in range(2)
                ),
                client.delete(f"/calendars/{calendar_id}", headers=tenant.headers()),
                client.post("/calendars/events/block-slots", json=body, headers=tenant.headers()),
            )
        )
    assert seen <= {200, 201, 404, 422}, seen


async def test_group_delete_racing_calendar_writes_is_never_a_500(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    seen: set[int] = set()
    for _ in range(6):
        made = await client.post(
            "/calendars/groups",
            json={"locationId": tenant.location_id, "name": "g", "description": "", "slug": "g"},
            headers=tenant.headers(),
        )
        group_id = made.json()["group"]["id"]
        seen |= set(
            await _race(
                client.post(
                    "/calendars/",
                    json={"locationId": tenant.location_id, "name": "c", "groupId": group_id},
                    headers=tenant.headers(),
                ),
                client.delete(f"/calendars/groups/{group_id}", headers=tenant.headers()),
                client.put(
                    f"/calendars/{tenant.calendar_id}",
                    json={"groupId": group_id},
                    headers=tenant.headers(),
                ),
            )
        )
    assert seen <= {200, 201, 404, 422}, seen


async def test_store_tells_a_taken_id_from_a_missing_reference(store: Store) -> None:
    async with store.begin() as conn:
        await directory.insert_location(conn, Location("loc1", "L", "UTC"), 0)
    group = Group("loc1", "g1", "G", "", "g", True)
    async with store.begin() as conn:
        await directory.insert_group(conn, group, 0)
    with pytest.raises(AlreadyExists):
        async with store.begin() as conn:
            await directory.insert_group(conn, group, 0)
    with pytest.raises(ReferenceMissing):
        async with store.begin() as conn:
            await directory.insert_group(conn, Group("nowhere", "g2", "G", "", "g", True), 0)
