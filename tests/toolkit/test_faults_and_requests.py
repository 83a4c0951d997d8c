"""Fault injection and the request log over HTTP, on SQLite and PostgreSQL; a dropped
connection over a real socket."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.store import Store
from tests.live import live_server
from tests.toolkit.conftest import (
    ADMIN,
    API,
    CALENDAR,
    CI_TOKEN,
    LOCATION,
    USER,
    load,
    readme_fixture,
)

pytestmark = pytest.mark.anyio
GROUPS = "/calendars/groups"
RATE_HEADERS = {
    "x-ratelimit-limit-daily": "200000",
    "x-ratelimit-daily-remaining": "199900",
    "x-ratelimit-interval-milliseconds": "10000",
    "x-ratelimit-max": "100",
    "x-ratelimit-remaining": "0",
    "retry-after": "3",
}


@pytest.fixture
async def loaded(admin_client: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await load(admin_client, readme_fixture())).status_code == 201
    return admin_client


async def fault(client: httpx.AsyncClient, **rule: Any) -> dict[str, Any]:
    response = await client.post("/_admin/faults", json=rule, headers=ADMIN)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def groups(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(GROUPS, params={"locationId": LOCATION}, headers=API)


async def test_429_twice_with_the_platform_headers(loaded: httpx.AsyncClient) -> None:
    rule = await fault(
        loaded, match={"method": "GET", "path": GROUPS}, status=429, retryAfter=3, times=2
    )
    for _ in range(2):
        response = await groups(loaded)
        assert response.status_code == 429
        assert {k: response.headers[k] for k in RATE_HEADERS} == RATE_HEADERS
        assert response.json() == {
            "statusCode": 429,
            "message": "Too Many Requests",
            "error": "Too Many Requests",
        }
    assert (await groups(loaded)).status_code == 200
    listed = (await loaded.get("/_admin/faults", headers=ADMIN)).json()["faults"]
    assert listed == [{**rule, "hits": 2, "active": False}]


@pytest.mark.parametrize("status", [409, 500, 502, 503])
async def test_error_statuses_by_operation_id(loaded: httpx.AsyncClient, status: int) -> None:
    await fault(loaded, match={"operationId": "get-calendar"}, status=status)
    assert (await groups(loaded)).status_code == 200
    for _ in range(3):  # no count: every matching request until the rule is deleted
        response = await loaded.get(f"/calendars/{CALENDAR}", headers=API)
        assert response.status_code == status
        assert response.json()["statusCode"] == status
    assert (await loaded.delete("/_admin/faults", headers=ADMIN)).json() == {"deleted": 1}
    assert (await loaded.get(f"/calendars/{CALENDAR}", headers=API)).status_code == 200


async def test_match_on_token_and_location(loaded: httpx.AsyncClient, tenant: Any) -> None:
    await fault(loaded, match={"tokenId": "ciToken01"}, status=503)
    await fault(loaded, match={"locationId": tenant.location_id, "method": "POST"}, status=502)
    assert (await groups(loaded)).status_code == 503
    other = {"locationId": tenant.location_id}
    assert (await loaded.get(GROUPS, params=other, headers=tenant.headers())).status_code == 200
    created = await loaded.post(GROUPS, json={**other, "name": "x"}, headers=tenant.headers())
    assert created.status_code == 502


async def test_probability_is_reproducible_with_a_seed(loaded: httpx.AsyncClient) -> None:
    async def pattern() -> list[int]:
        rule = await fault(
            loaded, match={"path": "/calendars/*"}, status=500, probability=0.5, seed=7
        )
        seen = [(await groups(loaded)).status_code for _ in range(16)]
        listed = (await loaded.get("/_admin/faults", headers=ADMIN)).json()["faults"]
        assert listed[0]["hits"] == seen.count(500)
        await loaded.delete(f"/_admin/faults/{rule['id']}", headers=ADMIN)
        return seen

    first = await pattern()
    assert 0 < first.count(500) < 16
    assert await pattern() == first


async def test_latency_then_a_normal_answer(loaded: httpx.AsyncClient) -> None:
    await fault(loaded, match={"path": GROUPS}, latencyMs=300, times=1)
    started = time.monotonic()
    assert (await groups(loaded)).status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_never_on_admin_or_health(loaded: httpx.AsyncClient) -> None:
    await fault(loaded, status=503)  # matches every request
    assert (await loaded.get("/healthz")).status_code == 200
    assert (await loaded.get("/readyz")).status_code == 200
    assert (await loaded.get("/_admin/faults", headers=ADMIN)).status_code == 200
    assert (await groups(loaded)).status_code == 503


async def test_bad_rules_are_refused(loaded: httpx.AsyncClient) -> None:
    for rule in (
        {},
        {"status": 404},
        {"status": 503, "drop": True},
        {"latencyMs": 60_001},
        {"status": 503, "times": 0},
        {"status": 503, "probability": 1.5},
        {"status": 503, "match": {"host": "x"}},
    ):
        response = await loaded.post("/_admin/faults", json=rule, headers=ADMIN)
        assert response.status_code == 400, rule
    assert (await loaded.delete("/_admin/faults/nothing", headers=ADMIN)).status_code == 404


async def test_requests_are_logged_without_the_token(loaded: httpx.AsyncClient) -> None:
    body = {"locationId": LOCATION, "calendarId": CALENDAR, "startTime": "bad", "endTime": "x"}
    await loaded.post(
        "/calendars/events/block-slots", json=body, headers={**API, "X-Request-Id": "req-1"}
    )
    await groups(loaded)
    await loaded.get("/healthz")
    await loaded.get("/_admin/faults", headers=ADMIN)
    logged = (await loaded.get("/_admin/requests", headers=ADMIN)).json()["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in logged] == [
        ("GET", GROUPS, 200),
        ("POST", "/calendars/events/block-slots", 400),
    ]
    read, write = logged
    assert read["query"] == f"locationId={LOCATION}" and read["error"] is None
    assert write["requestId"] == "req-1" and len(read["requestId"]) == 32
    assert write["tokenId"] == "ciToken01"
    assert CI_TOKEN not in str(logged)
    assert write["body"] == httpx.Request("POST", "/", json=body).content.decode()
    assert isinstance(write["error"], list) and write["error"][0].startswith("startTime")
    assert write["durationMs"] > 0 and write["time"] > 1_700_000_000_000
    limited = (await loaded.get("/_admin/requests", params={"limit": 1}, headers=ADMIN)).json()
    assert limited["requests"] == logged[:1]


async def test_a_connected_calendar_is_logged_without_its_address_or_password(
    loaded: httpx.AsyncClient,
) -> None:
    secret = "https://calendar.google.com/calendar/ical/ann/private-0123abcd/basic.ics"
    body = {"locationId": LOCATION, "userId": USER, "url": secret, "password": "pw-0123"}
    await loaded.post("/calendars/connections", json=body, headers=API)
    logged = (await loaded.get("/_admin/requests", headers=ADMIN)).json()["requests"]
    assert logged[0]["path"] == "/calendars/connections"
    assert json.loads(logged[0]["body"]) == body | {
        "url": "https://calendar.google.com/…",
        "password": "***",
    }
    assert "private-0123abcd" not in str(logged) and "pw-0123" not in str(logged)


@pytest.fixture
async def small_log(database_url: str, store: Store) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url,
        admin_token="sba-test-admin-token-0001",
        request_log_size=3,
        request_log_body_bytes=10,
    )
    app = create_app(settings, store)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield client


async def test_log_is_bounded_in_entries_and_body_bytes(small_log: httpx.AsyncClient) -> None:
    for index in range(5):
        await small_log.post(f"/nowhere/{index}", content=b"0123456789abcdef")
    logged = (await small_log.get("/_admin/requests", headers=ADMIN)).json()["requests"]
    assert [r["path"] for r in logged] == ["/nowhere/4", "/nowhere/3", "/nowhere/2"]
    assert logged[0]["body"] == "0123456789"
    assert logged[0]["bodySize"] == 16 and logged[0]["bodyTruncated"] is True
    assert logged[0]["error"] == "Cannot find that route"


def test_drop_closes_the_connection(database_url: str) -> None:
    settings = Settings(database_url=database_url, admin_token="sba-test-admin-token-0001")
    with live_server(settings) as base:
        added = httpx.post(f"{base}/_admin/faults", json={"drop": True, "times": 1}, headers=ADMIN)
        assert added.status_code == 201
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{base}/calendars/groups?locationId=x", headers=API)
        assert httpx.get(f"{base}/calendars/groups?locationId=x", headers=API).status_code == 401


async def test_log_size_zero_keeps_nothing(database_url: str, store: Store) -> None:
    settings = Settings(
        database_url=database_url, admin_token=ADMIN["Authorization"][7:], request_log_size=0
    )
    assert Settings(database_url=database_url).request_log_size == 500
    assert Settings(database_url=database_url).request_log_body_bytes == 4096
    transport = httpx.ASGITransport(app=create_app(settings, store))
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        await client.get("/nowhere")
        assert (await client.get("/_admin/requests", headers=ADMIN)).json() == {"requests": []}


def test_admin_token_is_long_enough() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings(admin_token="too-short")
