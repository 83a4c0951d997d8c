"""Recurring blocks over HTTP: instances, their ids, per-instance edits and deletes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from slotblock.core.isotime import parse_iso
from tests.api.calls import create, delete, edit, events
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio

MONDAY = "2023-04-03T09:30:00+05:30"
MONDAY_END = "2023-04-03T10:00:00+05:30"
MS = parse_iso(MONDAY)
WEEK = 7 * 86_400_000
APRIL = (parse_iso("2023-04-01T00:00:00+05:30"), parse_iso("2023-05-01T00:00:00+05:30"))


async def weekly(
    client: httpx.AsyncClient, t: Tenant, rule: Any = "RRULE:FREQ=WEEKLY;BYDAY=MO"
) -> dict[str, Any]:
    return await create(
        client, t, title="standup", startTime=MONDAY, endTime=MONDAY_END, rrule=rule
    )


async def april(client: httpx.AsyncClient, t: Tenant) -> list[dict[str, Any]]:
    return await events(client, t, *APRIL)


async def series_with_moved_second(
    client: httpx.AsyncClient, t: Tenant
) -> tuple[dict[str, Any], str]:
    """A weekly series whose second instance moved from Monday to Wednesday."""
    master = await weekly(client, t)
    second = f"{master['id']}_{MS + WEEK}_1800"
    start, end = "2023-04-12T09:30:00+05:30", "2023-04-12T10:00:00+05:30"
    assert (await edit(client, t, second, startTime=start, endTime=end)).status_code == 201
    return master, second


async def test_instances_of_a_series(client: httpx.AsyncClient, tenant: Tenant) -> None:
    master = await weekly(client, tenant)
    assert master["isRecurring"] is True
    assert master["rrule"] == "RRULE:FREQ=WEEKLY;BYDAY=MO"
    assert "masterEventId" not in master
    found = await april(client, tenant)
    assert [e["id"] for e in found] == [f"{master['id']}_{MS + i * WEEK}_1800" for i in range(4)]
    assert [e["startTime"][:10] for e in found] == [
        "2023-04-03",
        "2023-04-10",
        "2023-04-17",
        "2023-04-24",
    ]
    for event in found:
        assert event["masterEventId"] == master["id"]
        assert event["isRecurring"] is True
        assert event["rrule"] == master["rrule"]
        assert event["originalStartTime"] == event["startTime"]
        assert event["title"] == "standup"


async def test_rrule_as_array_of_lines(client: httpx.AsyncClient, tenant: Tenant) -> None:
    master = await weekly(
        client, tenant, ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3", "EXDATE:20230410T040000Z"]
    )
    assert master["rrule"] == "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3\nEXDATE:20230410T040000Z"
    assert [e["startTime"][:10] for e in await april(client, tenant)] == [
        "2023-04-03",
        "2023-04-17",
    ]


async def test_instance_started_before_the_window(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await weekly(client, tenant)
    inside = MS + 10 * 60_000  # 09:40, during the first instance
    found = await events(client, tenant, inside, inside + 1)
    assert [e["startTime"] for e in found] == [MONDAY]


async def test_edit_one_instance(client: httpx.AsyncClient, tenant: Tenant) -> None:
    master = await weekly(client, tenant)
    second = f"{master['id']}_{MS + WEEK}_1800"
    response = await edit(
        client,
        tenant,
        second,
        title="moved",
        startTime="2023-04-11T15:00:00+05:30",
        endTime="2023-04-11T16:00:00+05:30",
    )
    assert response.status_code == 201, response.text
    assert response.json()["id"] == second
    found = await april(client, tenant)
    moved = next(e for e in found if e["id"] == second)  # the id is stable after the edit
    assert (moved["title"], moved["startTime"], moved["endTime"]) == (
        "moved",
        "2023-04-11T15:00:00+05:30",
        "2023-04-11T16:00:00+05:30",
    )
    assert moved["originalStartTime"] == "2023-04-10T09:30:00+05:30"
    assert [e["title"] for e in found].count("standup") == 3
    # edited again, it keeps its id and what was changed before
    again = await edit(client, tenant, second, notes="n")
    assert again.status_code == 201
    moved = next(e for e in await april(client, tenant) if e["id"] == second)
    assert (moved["title"], moved["notes"], moved["startTime"]) == (
        "moved",
        "n",
        "2023-04-11T15:00:00+05:30",
    )


async def test_instance_moved_into_another_window(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    master = await weekly(client, tenant, "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=2")
    last = f"{master['id']}_{MS + WEEK}_1800"
    await edit(
        client,
        tenant,
        last,
        startTime="2023-06-01T10:00:00+05:30",
        endTime="2023-06-01T11:00:00+05:30",
    )
    assert [e["id"] for e in await april(client, tenant)] == [f"{master['id']}_{MS}_1800"]
    june = (parse_iso("2023-06-01T00:00:00+05:30"), parse_iso("2023-06-02T00:00:00+05:30"))
    assert [e["id"] for e in await events(client, tenant, *june)] == [last]


async def test_delete_one_instance(client: httpx.AsyncClient, tenant: Tenant) -> None:
    master = await weekly(client, tenant)
    third = f"{master['id']}_{MS + 2 * WEEK}_1800"
    response = await delete(client, tenant, third)
    assert response.status_code == 201
    found = await april(client, tenant)
    assert third not in [e["id"] for e in found] and len(found) == 3
    assert found[0]["rrule"] == "RRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE:20230417T040000Z"
    assert (await delete(client, tenant, third)).status_code == 404
    assert (await edit(client, tenant, third, title="x")).status_code == 404


async def test_delete_a_moved_instance(client: httpx.AsyncClient, tenant: Tenant) -> None:
    _, second = await series_with_moved_second(client, tenant)
    assert (await delete(client, tenant, second)).status_code == 201
    assert second not in [e["id"] for e in await april(client, tenant)]


@pytest.mark.parametrize(
    "suffix",
    [
        f"_{MS + 1}_1800",  # not an occurrence
        f"_{MS - WEEK}_1800",  # before the series
        f"_{MS}_1801",  # wrong duration
        f"_{MS}",  # malformed
        f"_{MS}_1800_1",
    ],
)
async def test_instance_id_that_names_no_occurrence(
    client: httpx.AsyncClient, tenant: Tenant, suffix: str
) -> None:
    master = await weekly(client, tenant)
    assert (await edit(client, tenant, master["id"] + suffix, title="x")).status_code == 404
    assert (await delete(client, tenant, master["id"] + suffix)).status_code == 404
    assert len(await april(client, tenant)) == 4


async def test_instance_id_of_a_one_off_block(client: httpx.AsyncClient, tenant: Tenant) -> None:
    block = await create(client, tenant, startTime=MONDAY, endTime=MONDAY_END)
    assert (await delete(client, tenant, f"{block['id']}_{MS}_1800")).status_code == 404


async def test_edit_the_series(client: httpx.AsyncClient, tenant: Tenant) -> None:
    master = await weekly(client, tenant)
    second = f"{master['id']}_{MS + WEEK}_1800"
    fourth = f"{master['id']}_{MS + 3 * WEEK}_1800"
    await edit(client, tenant, second, title="kept")
    await edit(client, tenant, fourth, title="dropped")
    response = await edit(
        client, tenant, master["id"], title="renamed", rrule="RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3"
    )
    assert response.status_code == 201
    assert response.json()["title"] == "renamed"
    found = await april(client, tenant)
    assert [e["title"] for e in found] == ["renamed", "kept", "renamed"]  # the 4th is gone


async def test_series_start_change_drops_overrides(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    master = await weekly(client, tenant)
    await edit(client, tenant, f"{master['id']}_{MS + WEEK}_1800", title="override")
    response = await edit(
        client,
        tenant,
        master["id"],
        startTime="2023-04-03T11:00:00+05:30",
        endTime="2023-04-03T11:30:00+05:30",
    )
    assert response.status_code == 201
    found = await april(client, tenant)
    assert {e["title"] for e in found} == {"standup"}
    assert all(e["startTime"].endswith("T11:00:00+05:30") for e in found)


async def test_series_becomes_one_off(client: httpx.AsyncClient, tenant: Tenant) -> None:
    master = await weekly(client, tenant)
    response = await edit(client, tenant, master["id"], rrule="")
    assert response.status_code == 201
    assert response.json()["isRecurring"] is False
    assert [e["id"] for e in await april(client, tenant)] == [master["id"]]


async def test_delete_the_series(client: httpx.AsyncClient, tenant: Tenant) -> None:
    master = await weekly(client, tenant)
    await edit(client, tenant, f"{master['id']}_{MS + WEEK}_1800", title="override")
    assert (await delete(client, tenant, master["id"])).status_code == 201
    assert await april(client, tenant) == []


async def test_instance_cannot_change_rule_or_owner(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    master = await weekly(client, tenant)
    second = f"{master['id']}_{MS + WEEK}_1800"
    assert (await edit(client, tenant, second, rrule="RRULE:FREQ=DAILY")).status_code == 422
    assert (await edit(client, tenant, second, assignedUserId=tenant.user_id)).status_code == 422
    assert (await edit(client, tenant, second, calendarId=tenant.calendar_id)).status_code == 201


@pytest.mark.parametrize(
    "rule",
    [
        "RRULE:FREQ=MINUTELY",
        "RRULE:FREQ=SECONDLY;COUNT=2",
        "RRULE:FREQ=DAILY;COUNT=100000",
        "RRULE:FREQ=WEEKLY;BYDAY=TU",
        "RRULE:FREQ=DAILY;BYDAY=XX",
        "nonsense",
    ],
)
async def test_refused_rules(client: httpx.AsyncClient, tenant: Tenant, rule: str) -> None:
    body = {
        "locationId": tenant.location_id,
        "calendarId": tenant.calendar_id,
        "startTime": MONDAY,
        "endTime": MONDAY_END,
        "rrule": rule,
    }
    response = await client.post(
        "/calendars/events/block-slots", json=body, headers=tenant.headers()
    )
    assert response.status_code == 422
    assert response.json()["message"][0].startswith("rrule: ")
    assert await april(client, tenant) == []


async def test_too_many_instances_in_a_window(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await create(
        client,
        tenant,
        startTime="2023-04-01T00:00:00Z",
        endTime="2023-04-01T00:15:00Z",
        rrule="RRULE:FREQ=HOURLY;BYMINUTE=0,30",
    )
    year = (parse_iso("2023-04-01T00:00:00Z"), parse_iso("2024-04-01T00:00:00Z"))
    response = await client.get(
        "/calendars/blocked-slots",
        params={
            "locationId": tenant.location_id,
            "calendarId": tenant.calendar_id,
            "startTime": year[0],
            "endTime": year[1],
        },
        headers=tenant.headers(),
    )
    assert response.status_code == 422
    assert "more than 10000 events" in response.json()["message"][0]
    assert len(await april(client, tenant)) == 30 * 48 - 11  # April in IST, from 05:30 on the 1st


async def test_infinite_series_far_in_the_future(client: httpx.AsyncClient, tenant: Tenant) -> None:
    master = await weekly(client, tenant)
    start = parse_iso("2099-06-01T00:00:00+05:30")
    found = await events(client, tenant, start, start + WEEK)
    assert len(found) == 1 and found[0]["startTime"] == "2099-06-01T09:30:00+05:30"
    assert found[0]["id"].startswith(master["id"] + "_")


async def test_exdate_on_a_moved_instance(client: httpx.AsyncClient, tenant: Tenant) -> None:
    master, second = await series_with_moved_second(client, tenant)
    exdate = "20230410T040000Z"  # the second occurrence's original start
    response = await edit(
        client, tenant, master["id"], rrule=f"RRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE:{exdate}"
    )
    assert response.status_code == 201
    found = await april(client, tenant)
    assert second not in [e["id"] for e in found]
    assert len(found) == 3
