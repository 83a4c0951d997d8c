"""HTTP calls the API tests share."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant

# 2023-04-02T00:00:00+05:30 .. 2023-04-08T23:59:59.999+05:30, the seed's example window
SEED_START, SEED_END = 1680373800000, 1680978599999


async def create(client: httpx.AsyncClient, t: Tenant, **body: Any) -> dict[str, Any]:
    payload = {"locationId": t.location_id, **body}
    if "assignedUserId" not in body and "calendarId" not in body:
        payload["calendarId"] = t.calendar_id
    response = await client.post("/calendars/events/block-slots", json=payload, headers=t.headers())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def blocked(
    client: httpx.AsyncClient,
    t: Tenant,
    start: int = SEED_START,
    end: int = SEED_END,
    **filters: str,
) -> httpx.Response:
    params = {"locationId": t.location_id, "startTime": str(start), "endTime": str(end), **filters}
    return await client.get("/calendars/blocked-slots", params=params, headers=t.headers())


async def ids(
    client: httpx.AsyncClient,
    t: Tenant,
    start: int = SEED_START,
    end: int = SEED_END,
    **filters: str,
) -> list[str]:
    response = await blocked(client, t, start, end, **filters)
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["events"]]


async def edit(client: httpx.AsyncClient, t: Tenant, event_id: str, **body: Any) -> httpx.Response:
    payload = {"locationId": t.location_id, **body}
    return await client.put(
        f"/calendars/events/block-slots/{event_id}", json=payload, headers=t.headers()
    )


async def delete(client: httpx.AsyncClient, t: Tenant, event_id: str) -> httpx.Response:
    return await client.request(
        "DELETE", f"/calendars/events/{event_id}", json={}, headers=t.headers()
    )


async def events(
    client: httpx.AsyncClient,
    t: Tenant,
    start: int = SEED_START,
    end: int = SEED_END,
    **filters: str,
) -> list[dict[str, Any]]:
    response = await blocked(client, t, start, end, **(filters or {"calendarId": t.calendar_id}))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["events"]
    return found
