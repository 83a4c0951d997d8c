"""Calendars and groups: the official bodies, kept fields, and deletes that lose nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.calls import create, events
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio


async def new_group(client: httpx.AsyncClient, t: Tenant, **extra: Any) -> httpx.Response:
    body = {
        "locationId": t.location_id,
        "name": "Sales",
        "description": "d",
        "slug": "sales",
        **extra,
    }
    return await client.post("/calendars/groups", json=body, headers=t.headers())


async def new_calendar(client: httpx.AsyncClient, t: Tenant, **extra: Any) -> httpx.Response:
    body = {"locationId": t.location_id, "name": "Demo call", **extra}
    return await client.post("/calendars/", json=body, headers=t.headers())


async def test_group_crud(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await new_group(client, tenant, isActive=False)
    assert response.status_code == 201
    group = response.json()["group"]
    assert group == {
        "id": group["id"],
        "locationId": tenant.location_id,
        "name": "Sales",
        "description": "d",
        "slug": "sales",
        "isActive": False,
    }
    listed = await client.get(
        f"/calendars/groups?locationId={tenant.location_id}", headers=tenant.headers()
    )
    assert group in listed.json()["groups"]
    edited = await client.put(
        f"/calendars/groups/{group['id']}",
        json={"name": "Support", "description": "e", "slug": "support"},
        headers=tenant.headers(),
    )
    assert edited.status_code == 200
    assert edited.json()["group"]["name"] == "Support"
    deleted = await client.delete(f"/calendars/groups/{group['id']}", headers=tenant.headers())
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    listed = await client.get(
        f"/calendars/groups?locationId={tenant.location_id}", headers=tenant.headers()
    )
    assert group["id"] not in [g["id"] for g in listed.json()["groups"]]


async def test_group_body_is_checked(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/calendars/groups",
        json={"locationId": tenant.location_id, "name": 3},
        headers=tenant.headers(),
    )
    assert response.status_code == 400
    assert set(response.json()["message"]) == {
        "name must be a string",
        "description should not be empty",
        "slug should not be empty",
    }


async def test_group_with_calendars_is_not_deleted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.delete(f"/calendars/groups/{tenant.group_id}", headers=tenant.headers())
    assert response.status_code == 422
    assert "has calendars" in response.json()["message"][0]
    listed = await client.get(
        f"/calendars/groups?locationId={tenant.location_id}", headers=tenant.headers()
    )
    assert tenant.group_id in [g["id"] for g in listed.json()["groups"]]


async def test_calendar_crud_keeps_the_official_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await new_calendar(
        client,
        tenant,
        groupId=tenant.group_id,
        teamMembers=[{"userId": tenant.user_id, "priority": 0.5, "isPrimary": True}],
        calendarType="round_robin",
        slotDuration=30,
        openHours=[
            {
                "daysOfTheWeek": [1],
                "hours": [{"openHour": 9, "openMinute": 0, "closeHour": 17, "closeMinute": 0}],
            }
        ],
        eventColor="#039be5",
    )
    assert response.status_code == 200, response.text
    calendar = response.json()["calendar"]
    assert calendar["groupId"] == tenant.group_id
    assert calendar["calendarType"] == "round_robin"
    assert calendar["teamMembers"] == [
        {"userId": tenant.user_id, "priority": 0.5, "isPrimary": True}
    ]
    assert calendar["slotDuration"] == 30
    assert calendar["openHours"][0]["hours"][0]["openHour"] == 9
    assert calendar["isActive"] is True
    assert calendar["slug"] == "demo-call"
    fetched = await client.get(f"/calendars/{calendar['id']}", headers=tenant.headers())
    assert fetched.json()["calendar"] == calendar
    updated = await client.put(
        f"/calendars/{calendar['id']}",
        json={"name": "Renamed", "slotDuration": 45, "teamMembers": []},
        headers=tenant.headers(),
    )
    assert updated.status_code == 200
    changed = updated.json()["calendar"]
    assert (changed["name"], changed["slotDuration"], changed["teamMembers"]) == ("Renamed", 45, [])
    assert changed["eventColor"] == "#039be5"
    in_group = await client.get(
        f"/calendars/?locationId={tenant.location_id}&groupId={tenant.group_id}",
        headers=tenant.headers(),
    )
    assert {c["id"] for c in in_group.json()["calendars"]} == {tenant.calendar_id, calendar["id"]}
    deleted = await client.delete(f"/calendars/{calendar['id']}", headers=tenant.headers())
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    assert (
        await client.get(f"/calendars/{calendar['id']}", headers=tenant.headers())
    ).status_code == 404


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"groupId": "nosuchgroup"}, 404),
        ({"teamMembers": [{"userId": "nosuchuser"}]}, 404),
        ({"teamMembers": [{"priority": 1}]}, 400),
        ({"calendarType": "party"}, 400),
        ({"favouriteColour": "red"}, 400),
        ({"locationId": "elsewhere"}, 403),
        ({"name": ""}, 400),
    ],
)
async def test_refused_calendar_creates(
    client: httpx.AsyncClient, tenant: Tenant, extra: dict[str, Any], status: int
) -> None:
    response = await new_calendar(client, tenant, **extra)
    assert response.status_code == status, response.text
    listed = await client.get(
        f"/calendars/?locationId={tenant.location_id}", headers=tenant.headers()
    )
    assert [c["id"] for c in listed.json()["calendars"]] == [tenant.calendar_id]


async def test_calendar_with_blocks_is_not_deleted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await create(client, tenant, startTime="2023-04-03T10:00:00Z", endTime="2023-04-03T11:00:00Z")
    response = await client.delete(f"/calendars/{tenant.calendar_id}", headers=tenant.headers())
    assert response.status_code == 422
    assert "blocked slots" in response.json()["message"][0]
    assert len(await events(client, tenant)) == 1


async def test_calendar_group_change_moves_its_blocks(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await create(client, tenant, startTime="2023-04-03T10:00:00Z", endTime="2023-04-03T11:00:00Z")
    await create(
        client,
        tenant,
        startTime="2023-04-04T10:00:00Z",
        endTime="2023-04-04T11:00:00Z",
        rrule="FREQ=DAILY",
    )
    before = await events(
        client, tenant, groupId=tenant.group_id
    )  # the series' expansion is cached
    assert {e["groupId"] for e in before} == {tenant.group_id}
    group = (await new_group(client, tenant)).json()["group"]
    await client.put(
        f"/calendars/{tenant.calendar_id}", json={"groupId": group["id"]}, headers=tenant.headers()
    )
    assert await events(client, tenant, groupId=tenant.group_id) == []
    moved = await events(client, tenant, groupId=group["id"])
    assert len(moved) == len(before) and {e["groupId"] for e in moved} == {group["id"]}
    mine = await events(client, tenant)
    assert {e["groupId"] for e in mine} == {group["id"]}


async def test_foreign_calendars_and_groups_are_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant
) -> None:
    h = tenant.headers()
    assert (await client.get(f"/calendars/{other.calendar_id}", headers=h)).status_code == 404
    assert (
        await client.put(f"/calendars/{other.calendar_id}", json={"name": "x"}, headers=h)
    ).status_code == 404
    assert (await client.delete(f"/calendars/{other.calendar_id}", headers=h)).status_code == 404
    group_body = {"name": "x", "description": "x", "slug": "x"}
    assert (
        await client.put(f"/calendars/groups/{other.group_id}", json=group_body, headers=h)
    ).status_code == 404
    assert (
        await client.delete(f"/calendars/groups/{other.group_id}", headers=h)
    ).status_code == 404
    assert (
        await client.get(f"/calendars/?locationId={other.location_id}", headers=h)
    ).status_code == 403
    assert (
        await client.get(f"/calendars/groups?locationId={other.location_id}", headers=h)
    ).status_code == 403
    theirs = await client.get(f"/calendars/{other.calendar_id}", headers=other.headers())
    assert theirs.json()["calendar"]["name"] == "Calendar"


async def test_kept_numbers_must_fit_64_bits(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """A kept field holding an integer JSON can carry but the encoder cannot is refused,
    not stored and then answered with a 500."""
    url, h = f"/calendars/{tenant.calendar_id}", tenant.headers()
    refused = await client.put(url, json={"slotDuration": 2**64}, headers=h)
    assert refused.status_code == 400
    assert refused.json()["message"] == ["slotDuration must be an integer between -2^63 and 2^63-1"]
    assert "slotDuration" not in (await client.get(url, headers=h)).json()["calendar"]
    assert (await client.put(url, json={"slotBuffer": 2**63 - 1}, headers=h)).status_code == 200
