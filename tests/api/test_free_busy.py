"""GET /calendars/free-busy (extension) over HTTP, on SQLite and PostgreSQL: merged busy
intervals per target, nothing else about the blocks; its scope; its refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from slotblock.core.isotime import parse_iso
from slotblock.service.container import Services
from tests.api.calls import create, delete, edit
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio

DAY = (parse_iso("2023-04-03T00:00:00+05:30"), parse_iso("2023-04-04T00:00:00+05:30"))


async def free_busy(
    client: httpx.AsyncClient,
    t: Tenant,
    window: tuple[int, int] = DAY,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    query = {"locationId": t.location_id, "startTime": window[0], "endTime": window[1], **params}
    return await client.get("/calendars/free-busy", params=query, headers=headers or t.headers())


def local(hhmm: str) -> str:
    return f"2023-04-03T{hhmm}:00+05:30"


async def block(client: httpx.AsyncClient, t: Tenant, start: str, end: str, **more: Any) -> Any:
    return await create(client, t, startTime=local(start), endTime=local(end), **more)


async def test_merged_busy_per_target(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    await block(client, tenant, "09:00", "10:00", title="secret", notes="n", address="a")
    await block(client, tenant, "09:30", "10:30")  # overlaps
    await block(client, tenant, "10:30", "11:00")  # touches
    await block(client, tenant, "13:00", "14:00")
    await block(client, tenant, "23:00", "23:59", assignedUserId=tenant.user_id)
    series = await block(
        client, tenant, "08:00", "08:30", assignedUserId=tenant.user_id,
        rrule="RRULE:FREQ=DAILY;COUNT=3",
    )  # fmt: skip
    other_user = await services.tenants.create_user(tenant.location_id, "Idle")
    response = await free_busy(
        client, tenant, calendarId=tenant.calendar_id, userId=[tenant.user_id, other_user],
        groupId=tenant.group_id,
    )  # fmt: skip
    calendar_busy = [
        {"startTime": local("09:00"), "endTime": local("11:00")},
        {"startTime": local("13:00"), "endTime": local("14:00")},
    ]
    assert response.json() == {
        "calendars": {tenant.calendar_id: {"busy": calendar_busy}},
        "users": {
            tenant.user_id: {
                "busy": [
                    {"startTime": local("08:00"), "endTime": local("08:30")},
                    {"startTime": local("23:00"), "endTime": local("23:59")},
                ]
            },
            other_user: {"busy": []},
        },
        "groups": {tenant.group_id: {"busy": calendar_busy}},
    }
    assert "secret" not in response.text and series["id"] not in response.text

    # a moved and a deleted instance, a window that clips, another zone
    first = f"{series['id']}_{parse_iso(local('08:00'))}_1800"
    second = f"{series['id']}_{parse_iso(local('08:00')) + 86_400_000}_1800"
    moved = await edit(
        client, tenant, first, startTime=local("07:00"), endTime=local("07:45")
    )  # fmt: skip
    assert moved.status_code == 201
    assert (await delete(client, tenant, second)).status_code == 201
    two_days = (parse_iso(local("07:30")), DAY[1] + 86_400_000)
    clipped = await free_busy(
        client, tenant, two_days, userId=tenant.user_id, timeZone="UTC"
    )  # fmt: skip
    assert clipped.json()["users"][tenant.user_id]["busy"] == [
        {"startTime": "2023-04-03T02:00:00+00:00", "endTime": "2023-04-03T02:15:00+00:00"},
        {"startTime": "2023-04-03T17:30:00+00:00", "endTime": "2023-04-03T18:29:00+00:00"},
    ]


async def test_scope_freebusy_or_events_readonly(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    async def headers(*scopes: str) -> dict[str, str]:
        token, _ = await services.tenants.create_token(tenant.location_id, scopes)
        return {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}

    only_freebusy = await headers("calendars/events.freebusy")
    ok = await free_busy(client, tenant, headers=only_freebusy, calendarId=tenant.calendar_id)
    assert ok.status_code == 200
    readonly = await headers("calendars/events.readonly")
    ok = await free_busy(client, tenant, headers=readonly, calendarId=tenant.calendar_id)
    assert ok.status_code == 200
    calendars_only = await headers("calendars.readonly")
    refused = await free_busy(client, tenant, headers=calendars_only, userId=tenant.user_id)
    assert refused.json()["message"] == "The token is not authorized for this scope."
    # free/busy allows nothing else
    blocked = await client.get(
        "/calendars/blocked-slots",
        params={"locationId": tenant.location_id, "calendarId": tenant.calendar_id,
                "startTime": DAY[0], "endTime": DAY[1]},
        headers=only_freebusy,
    )  # fmt: skip
    assert blocked.status_code == 401


async def test_refusals(client: httpx.AsyncClient, tenant: Tenant, other: Tenant) -> None:
    none = await free_busy(client, tenant)
    assert (none.status_code, none.json()["message"]) == (
        400,
        ["Either of calendarId, userId or groupId is required"],
    )
    missing = await free_busy(
        client, tenant, calendarId=[tenant.calendar_id, other.calendar_id], groupId="bad!"
    )
    assert missing.status_code == 404
    assert (
        missing.json()["message"] == f"Calendar {other.calendar_id} not found; Group bad! not found"
    )
    forbidden = await client.get(
        "/calendars/free-busy",
        params={"locationId": other.location_id, "calendarId": other.calendar_id,
                "startTime": DAY[0], "endTime": DAY[1]},
        headers=tenant.headers(),
    )  # fmt: skip
    assert forbidden.status_code == 403
    long = await free_busy(
        client, tenant, (DAY[0], DAY[0] + 367 * 86_400_000), userId=tenant.user_id
    )
    assert long.json()["message"] == ["the window is longer than 366 days; query less"]
    backwards = await free_busy(client, tenant, (DAY[1], DAY[0]), userId=tenant.user_id)
    assert backwards.status_code == 422
    zone = await free_busy(client, tenant, userId=tenant.user_id, timeZone="Nowhere/Town")
    assert zone.status_code == 400


async def test_event_cap_is_shared_by_the_targets(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await block(client, tenant, "00:00", "00:01", rrule="RRULE:FREQ=HOURLY")
    year = (DAY[0], DAY[0] + 365 * 86_400_000)  # 8,760 instances: under the cap of 10,000
    one = await free_busy(client, tenant, year, calendarId=tenant.calendar_id)
    assert len(one.json()["calendars"][tenant.calendar_id]["busy"]) == 8760
    both = await free_busy(
        client, tenant, year, calendarId=tenant.calendar_id, groupId=tenant.group_id
    )
    assert (both.status_code, both.json()["message"]) == (
        422,
        ["more than 10000 events in the window; query a shorter one"],
    )
