"""GET /calendars/events/block-slots/{eventId} (extension) and the `timeZone` parameter
(extension) of get-blocked-slots, over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from slotblock.core.isotime import parse_iso
from slotblock.service.container import Services
from tests.api.calls import blocked, create, delete, edit, events
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio

START, END = "2023-04-03T09:30:00+05:30", "2023-04-03T10:00:00+05:30"
WEEK = 7 * 86_400_000


async def read(
    client: httpx.AsyncClient, t: Tenant, event_id: str, **params: str
) -> httpx.Response:
    return await client.get(
        f"/calendars/events/block-slots/{event_id}", params=params, headers=t.headers()
    )


async def test_one_off_master_and_instances(client: httpx.AsyncClient, tenant: Tenant) -> None:
    one_off = await create(client, tenant, title="Lunch", startTime=START, endTime=END)
    assert (await read(client, tenant, one_off["id"])).json() == one_off
    series = await create(
        client, tenant, title="Standup", startTime=START, endTime=END,
        rrule="RRULE:FREQ=WEEKLY;COUNT=4",
    )  # fmt: skip
    assert (await read(client, tenant, series["id"])).json() == series
    listed = {e["id"]: e for e in await events(client, tenant)}
    first = f"{series['id']}_{parse_iso(START)}_1800"
    assert (await read(client, tenant, first)).json() == listed[first]

    second = f"{series['id']}_{parse_iso(START) + WEEK}_1800"
    moved = await edit(
        client, tenant, second, title="Moved",
        startTime="2023-04-11T15:00:00+05:30", endTime="2023-04-11T15:30:00+05:30",
    )  # fmt: skip
    found = (await read(client, tenant, second)).json()
    assert found == moved.json()
    assert (found["title"], found["startTime"]) == ("Moved", "2023-04-11T15:00:00+05:30")
    assert found["originalStartTime"] == "2023-04-10T09:30:00+05:30"


async def test_deleted_and_unknown_occurrences_are_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant
) -> None:
    series = await create(
        client, tenant, startTime=START, endTime=END, rrule="RRULE:FREQ=WEEKLY;COUNT=4"
    )
    third = f"{series['id']}_{parse_iso(START) + 2 * WEEK}_1800"
    assert (await delete(client, tenant, third)).status_code == 201
    after_the_end = f"{series['id']}_{parse_iso(START) + 4 * WEEK}_1800"
    not_an_occurrence = f"{series['id']}_{parse_iso(START) + 3_600_000}_1800"
    wrong_duration = f"{series['id']}_{parse_iso(START)}_60"
    for event_id in (third, after_the_end, not_an_occurrence, wrong_duration, "nope", "a_b_c"):
        response = await read(client, tenant, event_id)
        assert response.status_code == 404, event_id
        assert response.json() == {
            "statusCode": 404,
            "message": "Event not found",
            "error": "Not Found",
        }
    # another location's block, by master and by instance id: not found, never forbidden
    assert (await read(client, other, series["id"])).status_code == 404
    assert (await read(client, other, f"{series['id']}_{parse_iso(START)}_1800")).status_code == 404


async def test_scope_is_events_readonly(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    block = await create(client, tenant, startTime=START, endTime=END)
    for scopes, status in ((["calendars/events.readonly"], 200), (["calendars.readonly"], 401)):
        token, _ = await services.tenants.create_token(tenant.location_id, scopes)
        response = await client.get(
            f"/calendars/events/block-slots/{block['id']}",
            headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"},
        )
        assert response.status_code == status, scopes


async def test_time_zone_parameter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    block = await create(client, tenant, startTime=START, endTime=END)
    [event] = (
        await blocked(client, tenant, calendarId=tenant.calendar_id, timeZone="America/New_York")
    ).json()["events"]
    assert (event["startTime"], event["endTime"]) == (
        "2023-04-03T00:00:00-04:00",
        "2023-04-03T00:30:00-04:00",
    )
    one = (await read(client, tenant, block["id"], timeZone="UTC")).json()
    assert (one["startTime"], one["dateAdded"]) == (
        "2023-04-03T04:00:00+00:00",
        "2023-11-14T22:13:20+00:00",
    )
    for response in (
        await blocked(client, tenant, calendarId=tenant.calendar_id, timeZone="Mars/Olympus"),
        await read(client, tenant, block["id"], timeZone="Mars/Olympus"),
    ):
        assert response.status_code == 400
        assert response.json()["message"] == [
            "timeZone must be an IANA time zone; 'Mars/Olympus' is not one"
        ]
