"""GET /calendars/blocked-slots: every rule of the query and of the response."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from slotblock.config import Settings
from slotblock.service.container import Services
from tests.api.calls import SEED_END, SEED_START, blocked, create, ids
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio


async def test_filters_calendar_user_group(client: httpx.AsyncClient, tenant: Tenant) -> None:
    on_calendar = await create(
        client,
        tenant,
        title="cal",
        startTime="2023-04-03T13:00:00+05:30",
        endTime="2023-04-03T14:00:00+05:30",
    )
    on_user = await create(
        client,
        tenant,
        assignedUserId=tenant.user_id,
        startTime="2023-04-04T10:00:00+05:30",
        endTime="2023-04-04T12:00:00+05:30",
    )
    assert await ids(client, tenant, calendarId=tenant.calendar_id) == [on_calendar["id"]]
    assert await ids(client, tenant, userId=tenant.user_id) == [on_user["id"]]
    assert await ids(client, tenant, groupId=tenant.group_id) == [on_calendar["id"]]
    # several filters: all must match
    assert await ids(client, tenant, calendarId=tenant.calendar_id, groupId=tenant.group_id) == [
        on_calendar["id"]
    ]
    assert await ids(client, tenant, calendarId=tenant.calendar_id, userId=tenant.user_id) == []


async def test_response_shape(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await create(
        client,
        tenant,
        title="Dentist",
        startTime="2023-04-03T07:30:00Z",
        endTime="2023-04-03T08:30:00.750Z",
        description="d",
        notes="n",
        address="a",
    )
    [event] = (await blocked(client, tenant, calendarId=tenant.calendar_id)).json()["events"]
    assert event["startTime"] == "2023-04-03T13:00:00+05:30"
    assert event["endTime"] == "2023-04-03T14:00:00+05:30"  # to the second, never a fraction
    for key in ("startTime", "endTime", "dateAdded", "dateUpdated"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", event[key]), key
    required = {
        "id", "title", "calendarId", "locationId", "contactId", "groupId", "appointmentStatus",
        "assignedUserId", "users", "startTime", "endTime", "dateAdded", "dateUpdated",
    }  # fmt: skip
    assert required <= event.keys()
    assert event["groupId"] == tenant.group_id  # the calendar's group
    assert event["locationId"] == tenant.location_id
    assert event["isRecurring"] is False
    assert event["deleted"] is False
    assert "masterEventId" not in event
    assert (event["title"], event["description"], event["notes"], event["address"]) == (
        "Dentist",
        "d",
        "n",
        "a",
    )


async def test_offset_follows_the_location_zone_at_each_instant(
    client: httpx.AsyncClient, make_tenant_fn: Any
) -> None:
    ny: Tenant = await make_tenant_fn("America/New_York")
    await create(client, ny, startTime="2024-03-09T14:00:00Z", endTime="2024-03-09T15:00:00Z")
    await create(client, ny, startTime="2024-03-11T14:00:00Z", endTime="2024-03-11T15:00:00Z")
    start, end = 1709942400000, 1710288000000  # 2024-03-09 .. 2024-03-13 UTC
    events = (await blocked(client, ny, start, end, calendarId=ny.calendar_id)).json()["events"]
    assert [e["startTime"] for e in events] == [
        "2024-03-09T09:00:00-05:00",
        "2024-03-11T10:00:00-04:00",
    ]


async def test_half_open_overlap_and_order(client: httpx.AsyncClient, tenant: Tenant) -> None:
    # 2023-04-02T00:00:00+05:30 is SEED_START
    before = await create(
        client, tenant, startTime="2023-04-01T23:00:00+05:30", endTime="2023-04-02T00:00:00+05:30"
    )
    running = await create(
        client, tenant, startTime="2023-04-01T23:00:00+05:30", endTime="2023-04-02T00:00:01+05:30"
    )
    b = await create(
        client,
        tenant,
        title="b",
        startTime="2023-04-05T10:00:00+05:30",
        endTime="2023-04-05T11:00:00+05:30",
    )
    a = await create(
        client,
        tenant,
        title="a",
        startTime="2023-04-05T10:00:00+05:30",
        endTime="2023-04-05T10:30:00+05:30",
    )
    at_end = await create(
        client, tenant, startTime="2023-04-09T00:00:00+05:30", endTime="2023-04-09T01:00:00+05:30"
    )
    long = await create(
        client, tenant, startTime="2023-03-01T00:00:00+05:30", endTime="2023-05-01T00:00:00+05:30"
    )
    got = await ids(client, tenant, SEED_START, SEED_END + 1, calendarId=tenant.calendar_id)
    same_start = sorted([a["id"], b["id"]])
    assert got == [long["id"], running["id"], *same_start]
    assert before["id"] not in got and at_end["id"] not in got


@pytest.mark.parametrize(
    ("params", "messages"),
    [
        ({"startTime": "1", "endTime": "2"}, ["locationId should not be empty"]),
        ({"locationId": "x"}, ["startTime should not be empty", "endTime should not be empty"]),
        (
            {"locationId": "x", "startTime": "soon", "endTime": "1.5"},
            [
                "startTime must be epoch milliseconds as a decimal string",
                "endTime must be epoch milliseconds as a decimal string",
            ],
        ),
        (
            {"locationId": "x", "startTime": "1", "endTime": "2", "color": "red"},
            ["property color should not exist"],
        ),
    ],
)
async def test_malformed_query(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], messages: list[str]
) -> None:
    response = await client.get("/calendars/blocked-slots", params=params, headers=tenant.headers())
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": messages, "error": "Bad Request"}


async def test_a_filter_is_required(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await blocked(client, tenant)
    assert response.status_code == 400
    assert response.json()["message"] == ["Either of calendarId, userId or groupId is required"]


@pytest.mark.parametrize("name", ["calendarId", "userId", "groupId"])
async def test_unknown_target_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant, name: str
) -> None:
    unknown = await blocked(client, tenant, SEED_START, SEED_END, **{name: "nosuchid"})
    assert unknown.status_code == 404
    # an id of another location is "not found" too, never "forbidden"
    foreign = {"calendarId": other.calendar_id, "userId": other.user_id, "groupId": other.group_id}
    response = await blocked(client, tenant, SEED_START, SEED_END, **{name: foreign[name]})
    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"


async def test_window_rules(client: httpx.AsyncClient, tenant: Tenant, services: Services) -> None:
    backwards = await blocked(client, tenant, SEED_END, SEED_START, calendarId=tenant.calendar_id)
    assert backwards.status_code == 422
    assert backwards.json()["message"] == ["endTime must be after startTime"]
    empty = await blocked(client, tenant, SEED_START, SEED_START, calendarId=tenant.calendar_id)
    assert empty.status_code == 422
    day = 86_400_000
    ok = await blocked(client, tenant, 0, 366 * day, calendarId=tenant.calendar_id)
    assert ok.status_code == 200
    too_long = await blocked(client, tenant, 0, 366 * day + 1, calendarId=tenant.calendar_id)
    assert too_long.status_code == 422
    assert "366 days" in too_long.json()["message"][0]


async def test_event_cap(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, services: Services
) -> None:
    object.__setattr__(services.blocks, "settings", settings.model_copy(update={"max_events": 3}))
    for day in range(3, 7):
        await create(
            client,
            tenant,
            startTime=f"2023-04-0{day}T10:00:00Z",
            endTime=f"2023-04-0{day}T11:00:00Z",
        )
    response = await blocked(client, tenant, calendarId=tenant.calendar_id)
    assert response.status_code == 422
    assert "more than 3 events" in response.json()["message"][0]
    ok = await blocked(client, tenant, SEED_START, 1680739200000, calendarId=tenant.calendar_id)
    assert ok.status_code == 200 and len(ok.json()["events"]) == 3
