"""Tenancy matrix: a token of location A against location B's ids, by query, path and body,
for every operation — always 403 (a locationId) or 404 (an id), and nothing stored changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from slotblock.store import Store
from tests.api.calls import create
from tests.conftest import Tenant, snapshot

pytestmark = pytest.mark.anyio

START, END = "2023-04-03T10:00:00Z", "2023-04-03T11:00:00Z"


def requests(
    a: Tenant, b: Tenant, mine: str, theirs: str, instance: str
) -> list[tuple[str, str, Any, int]]:
    """(method, url, json body, expected status) for every operation."""
    window = "startTime=1680000000000&endTime=1681000000000"
    block = {"startTime": START, "endTime": END}
    group = {"name": "x", "description": "x", "slug": "x"}
    return [
        (
            "GET",
            f"/calendars/blocked-slots?locationId={b.location_id}&calendarId={b.calendar_id}&{window}",
            None,
            403,
        ),
        (
            "GET",
            f"/calendars/blocked-slots?locationId={a.location_id}&calendarId={b.calendar_id}&{window}",
            None,
            404,
        ),
        (
            "GET",
            f"/calendars/blocked-slots?locationId={a.location_id}&userId={b.user_id}&{window}",
            None,
            404,
        ),
        (
            "GET",
            f"/calendars/blocked-slots?locationId={a.location_id}&groupId={b.group_id}&{window}",
            None,
            404,
        ),
        (
            "POST",
            "/calendars/events/block-slots",
            {"locationId": b.location_id, "calendarId": b.calendar_id, **block},
            403,
        ),
        (
            "POST",
            "/calendars/events/block-slots",
            {"locationId": a.location_id, "calendarId": b.calendar_id, **block},
            404,
        ),
        (
            "POST",
            "/calendars/events/block-slots",
            {"locationId": a.location_id, "assignedUserId": b.user_id, **block},
            404,
        ),
        (
            "PUT",
            f"/calendars/events/block-slots/{theirs}",
            {"locationId": a.location_id, "title": "x"},
            404,
        ),
        (
            "PUT",
            f"/calendars/events/block-slots/{instance}",
            {"locationId": a.location_id, "title": "x"},
            404,
        ),
        (
            "PUT",
            f"/calendars/events/block-slots/{theirs}",
            {"locationId": b.location_id, "title": "x"},
            403,
        ),
        (
            "PUT",
            f"/calendars/events/block-slots/{mine}",
            {"locationId": a.location_id, "calendarId": b.calendar_id},
            404,
        ),
        (
            "PUT",
            f"/calendars/events/block-slots/{mine}",
            {"locationId": a.location_id, "assignedUserId": b.user_id},
            404,
        ),
        ("DELETE", f"/calendars/events/{theirs}", {}, 404),
        ("DELETE", f"/calendars/events/{instance}", {}, 404),
        ("GET", f"/calendars/?locationId={b.location_id}", None, 403),
        ("POST", "/calendars/", {"locationId": b.location_id, "name": "x"}, 403),
        (
            "POST",
            "/calendars/",
            {"locationId": a.location_id, "name": "x", "groupId": b.group_id},
            404,
        ),
        (
            "POST",
            "/calendars/",
            {"locationId": a.location_id, "name": "x", "teamMembers": [{"userId": b.user_id}]},
            404,
        ),
        ("GET", f"/calendars/{b.calendar_id}", None, 404),
        ("PUT", f"/calendars/{b.calendar_id}", {"name": "x"}, 404),
        ("PUT", f"/calendars/{a.calendar_id}", {"groupId": b.group_id}, 404),
        ("PUT", f"/calendars/{a.calendar_id}", {"teamMembers": [{"userId": b.user_id}]}, 404),
        ("DELETE", f"/calendars/{b.calendar_id}", None, 404),
        ("GET", f"/calendars/groups?locationId={b.location_id}", None, 403),
        ("POST", "/calendars/groups", {"locationId": b.location_id, **group}, 403),
        ("PUT", f"/calendars/groups/{b.group_id}", group, 404),
        ("DELETE", f"/calendars/groups/{b.group_id}", None, 404),
        ("GET", f"/calendars/{b.calendar_id}/free-slots?startDate=1680000000000&endDate=1681000000000", None, 404),
        ("GET", f"/calendars/{a.calendar_id}/free-slots?startDate=1680000000000&endDate=1681000000000&userId={b.user_id}",
         None, 404),
        ("GET", f"/calendars/events/block-slots/{theirs}", None, 404),
        ("GET", f"/calendars/events/block-slots/{instance}", None, 404),
        ("GET", f"/calendars/free-busy?locationId={b.location_id}&calendarId={b.calendar_id}&{window}",
         None, 403),
        ("GET", f"/calendars/free-busy?locationId={a.location_id}&calendarId={b.calendar_id}&{window}",
         None, 404),
        ("GET", f"/calendars/free-busy?locationId={a.location_id}&userId={b.user_id}&{window}",
         None, 404),
        ("GET", f"/calendars/free-busy?locationId={a.location_id}&groupId={b.group_id}&{window}",
         None, 404),
        ("GET", f"/locations/{b.location_id}", None, 403),
    ]  # fmt: skip


async def test_tenancy_matrix(
    client: httpx.AsyncClient, store: Store, tenant: Tenant, other: Tenant
) -> None:
    mine = (await create(client, tenant, startTime=START, endTime=END))["id"]
    series = await create(client, other, startTime=START, endTime=END, rrule="RRULE:FREQ=DAILY")
    theirs = (await create(client, other, startTime=START, endTime=END))["id"]
    instance = f"{series['id']}_1680516000000_3600"
    before = await snapshot(store)
    for method, url, body, status in requests(tenant, other, mine, theirs, instance):
        response = await client.request(method, url, json=body, headers=tenant.headers())
        assert response.status_code == status, (method, url, body, response.text)
        assert response.json()["statusCode"] == status
    assert await snapshot(store) == before
    # and the same requests with B's own token succeed where they should (the ids are real)
    ok = await client.get(f"/calendars/{other.calendar_id}", headers=other.headers())
    assert ok.status_code == 200
    own = await client.request(
        "DELETE", f"/calendars/events/{instance}", json={}, headers=other.headers()
    )
    assert own.status_code == 201
