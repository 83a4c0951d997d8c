"""POST/PUT/DELETE of one-off blocks: bodies, status codes, and nothing changed on refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.calls import create, delete, edit, events
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio

START, END = "2023-04-03T10:00:00+05:30", "2023-04-03T11:00:00+05:30"


async def post(client: httpx.AsyncClient, t: Tenant, body: Any) -> httpx.Response:
    return await client.post("/calendars/events/block-slots", json=body, headers=t.headers())


async def test_create_calendar_block(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {
        "locationId": tenant.location_id,
        "calendarId": tenant.calendar_id,
        "title": "Lunch",
        "startTime": "2023-04-03T04:30:00Z",
        "endTime": END,
    }
    response = await post(client, tenant, body)
    assert response.status_code == 201
    created = response.json()
    assert len(created["id"]) == 20 and created["id"].isalnum()
    assert created["locationId"] == tenant.location_id
    assert created["calendarId"] == tenant.calendar_id
    assert created["title"] == "Lunch"
    assert (created["startTime"], created["endTime"]) == (START, END)
    assert created["dateAdded"] == "2023-11-15T03:43:20+05:30"  # the test clock
    assert [e["id"] for e in await events(client, tenant)] == [created["id"]]


async def test_create_user_block(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create(
        client, tenant, assignedUserId=tenant.user_id, startTime=START, endTime=END
    )
    assert created["assignedUserId"] == tenant.user_id
    assert created["calendarId"] == ""
    assert created["users"] == [tenant.user_id]
    found = await events(client, tenant, userId=tenant.user_id)
    assert [e["id"] for e in found] == [created["id"]]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        (
            {"assignedUserId": "USER"},
            400,
            "Either calendarId or assignedUserId can be set, not both.",
        ),
        ({"calendarId": None}, 400, "Either calendarId or assignedUserId is required"),
        ({"locationId": None}, 400, "locationId should not be empty"),
        ({"startTime": None}, 400, "startTime should not be empty"),
        (
            {"startTime": "2023-04-03 10:00"},
            400,
            "startTime must be a valid ISO 8601 date string with an offset",
        ),
        (
            {"startTime": "2023-04-03T10:00:00"},
            400,
            "startTime must be a valid ISO 8601 date string with an offset",
        ),
        ({"startTime": 1680496200000}, 400, "startTime must be a string"),
        ({"title": 5}, 400, "title must be a string"),
        ({"title": "x" * 10_001}, 400, "title must be shorter than or equal to 10000 characters"),
        ({"color": "red"}, 400, "property color should not exist"),
        ({"endTime": START}, 422, "endTime must be after startTime"),
        ({"endTime": "2023-04-03T09:00:00+05:30"}, 422, "endTime must be after startTime"),
        ({"calendarId": "nosuchcalendar"}, 404, "Calendar not found"),
        ({"calendarId": None, "assignedUserId": "nosuchuser"}, 404, "User not found"),
        ({"locationId": "elsewhere"}, 403, "The token does not have access to this location."),
    ],
)
async def test_refused_creates_change_nothing(
    client: httpx.AsyncClient, tenant: Tenant, change: dict[str, Any], status: int, message: str
) -> None:
    body = {
        "locationId": tenant.location_id,
        "calendarId": tenant.calendar_id,
        "startTime": START,
        "endTime": END,
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    if body.get("assignedUserId") == "USER":
        body["assignedUserId"] = tenant.user_id
    response = await post(client, tenant, body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["statusCode"] == status
    assert message in (
        payload["message"] if isinstance(payload["message"], list) else [payload["message"]]
    )
    assert await events(client, tenant) == []
    assert await events(client, tenant, userId=tenant.user_id) == []


async def test_every_problem_is_listed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await post(client, tenant, {"title": 1, "bogus": True, "startTime": "x"})
    assert response.status_code == 400
    assert set(response.json()["message"]) == {
        "locationId should not be empty",
        "title must be a string",
        "property bogus should not exist",
        "startTime must be a valid ISO 8601 date string with an offset",
    }


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"x"', b"null", b"\xff\xfe"])
async def test_body_not_an_object(client: httpx.AsyncClient, tenant: Tenant, raw: bytes) -> None:
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    response = await client.post("/calendars/events/block-slots", content=raw, headers=headers)
    assert response.status_code == 400
    assert response.json()["statusCode"] == 400


async def test_calendar_of_another_location_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant
) -> None:
    body = {
        "locationId": tenant.location_id,
        "calendarId": other.calendar_id,
        "startTime": START,
        "endTime": END,
    }
    assert (await post(client, tenant, body)).status_code == 404


async def test_edit_block(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create(client, tenant, title="a", startTime=START, endTime=END)
    response = await edit(
        client, tenant, created["id"], title="b", endTime="2023-04-03T12:00:00+05:30"
    )
    assert response.status_code == 201
    assert response.json()["title"] == "b"
    [found] = await events(client, tenant)
    assert (found["id"], found["title"], found["startTime"], found["endTime"]) == (
        created["id"],
        "b",
        START,
        "2023-04-03T12:00:00+05:30",
    )


async def test_edit_moves_block_to_a_user(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create(client, tenant, startTime=START, endTime=END)
    response = await edit(client, tenant, created["id"], assignedUserId=tenant.user_id)
    assert response.status_code == 201
    assert response.json()["calendarId"] == ""
    assert await events(client, tenant) == []
    assert [e["id"] for e in await events(client, tenant, userId=tenant.user_id)] == [created["id"]]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"endTime": "2023-04-03T09:00:00+05:30"}, 422),
        ({"calendarId": "nosuchcalendar"}, 404),
        ({"locationId": "elsewhere"}, 403),
        ({"color": "red"}, 400),
    ],
)
async def test_refused_edit_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, change: dict[str, Any], status: int
) -> None:
    created = await create(client, tenant, title="a", startTime=START, endTime=END)
    before = await events(client, tenant)
    response = await edit(client, tenant, created["id"], **change)
    assert response.status_code == status
    assert await events(client, tenant) == before


async def test_edit_unknown_or_foreign_event(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant
) -> None:
    theirs = await create(client, other, startTime=START, endTime=END)
    for event_id in ("nosuchevent", theirs["id"], "a_b_c", "x_1_2_3"):
        response = await edit(client, tenant, event_id, title="mine now")
        assert response.status_code == 404, event_id
    assert (await events(client, other))[0]["title"] == ""


async def test_delete_block(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create(client, tenant, startTime=START, endTime=END)
    response = await delete(client, tenant, created["id"])
    assert response.status_code == 201
    assert response.json() == {"succeeded": True}
    assert await events(client, tenant) == []
    assert (await delete(client, tenant, created["id"])).status_code == 404


async def test_delete_without_body_and_with_unknown_property(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create(client, tenant, startTime=START, endTime=END)
    refused = await client.request(
        "DELETE", f"/calendars/events/{created['id']}", json={"x": 1}, headers=tenant.headers()
    )
    assert refused.status_code == 400
    assert len(await events(client, tenant)) == 1
    response = await client.delete(f"/calendars/events/{created['id']}", headers=tenant.headers())
    assert response.status_code == 201


async def test_delete_foreign_event_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant
) -> None:
    theirs = await create(client, other, startTime=START, endTime=END)
    assert (await delete(client, tenant, theirs["id"])).status_code == 404
    assert len(await events(client, other)) == 1


async def test_write_scope_is_needed(
    client: httpx.AsyncClient, tenant: Tenant, services: Any
) -> None:
    token, _ = await services.tenants.create_token(
        tenant.location_id, ["calendars/events.readonly"]
    )
    headers = {"Authorization": f"Bearer {token}", "Version": "v3"}
    body = {
        "locationId": tenant.location_id,
        "calendarId": tenant.calendar_id,
        "startTime": START,
        "endTime": END,
    }
    response = await client.post("/calendars/events/block-slots", json=body, headers=headers)
    assert response.status_code == 401
    assert await events(client, tenant) == []
