"""Idempotency-Key on create: the first answer again for the same body, 422 for another,
per token, kept for the configured period, across restarts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.core.model import SCOPES
from slotblock.service.container import Services, build_services
from slotblock.store import Store
from slotblock.store.tables import blocks
from tests.conftest import Clock, Tenant

pytestmark = pytest.mark.anyio
HOUR_MS = 3_600_000


def body(t: Tenant, **more: Any) -> dict[str, Any]:
    return {
        "locationId": t.location_id,
        "calendarId": t.calendar_id,
        "startTime": "2023-04-03T09:00:00+05:30",
        "endTime": "2023-04-03T10:00:00+05:30",
        **more,
    }


async def post(
    client: httpx.AsyncClient,
    t: Tenant,
    key: str,
    payload: dict[str, Any],
    token: str | None = None,
) -> httpx.Response:
    headers = {**t.headers(), "Idempotency-Key": key}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/calendars/events/block-slots", json=payload, headers=headers)


async def count_blocks(store: Store) -> int:
    async with store.read() as conn:
        return len((await conn.execute(blocks.select())).all())


async def test_the_same_key_and_body_answer_the_first_create_again(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: Clock
) -> None:
    first = await post(client, tenant, "k-1", body(tenant, title="a", notes="n"))
    assert first.status_code == 201
    clock.now_ms += HOUR_MS  # a later answer would show another dateAdded
    again = await post(
        client, tenant, "k-1", dict(reversed(body(tenant, title="a", notes="n").items()))
    )
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["etag"] == first.headers["etag"]
    assert await count_blocks(store) == 1
    other = await post(client, tenant, "k-1", body(tenant, title="b"))
    assert other.status_code == 422
    assert "different request body" in other.json()["message"][0]
    assert await count_blocks(store) == 1


async def test_keys_belong_to_their_token(
    client: httpx.AsyncClient, tenant: Tenant, services: Services, store: Store
) -> None:
    token, _ = await services.tenants.create_token(tenant.location_id, SCOPES, "second")
    first = await post(client, tenant, "shared", body(tenant))
    second = await post(client, tenant, "shared", body(tenant), token=token)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert await count_blocks(store) == 2


async def test_a_key_is_kept_for_the_configured_period_only(
    client: httpx.AsyncClient, tenant: Tenant, clock: Clock, store: Store
) -> None:
    first = await post(client, tenant, "k", body(tenant))
    clock.now_ms += 24 * HOUR_MS
    assert (await post(client, tenant, "k", body(tenant))).json()["id"] == first.json()["id"]
    clock.now_ms += 1
    later = await post(client, tenant, "k", body(tenant, title="new day"))
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert await count_blocks(store) == 2


async def test_the_keep_period_is_a_setting(
    settings: Settings, store: Store, clock: Clock, tenant: Tenant
) -> None:
    short = settings.model_copy(update={"idempotency_hours": 1})
    app = create_app(short, store)
    app.state.services = build_services(store, short, clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        first = await post(client, tenant, "k", body(tenant))
        clock.now_ms += HOUR_MS + 1
        assert (await post(client, tenant, "k", body(tenant))).json()["id"] != first.json()["id"]
    assert Settings().idempotency_hours == 24


async def test_a_key_survives_a_restart_and_concurrent_requests_make_one_block(
    settings: Settings, store: Store, clock: Clock, tenant: Tenant
) -> None:
    async def node() -> httpx.AsyncClient:
        app = create_app(settings, store)
        app.state.services = build_services(store, settings, clock)  # a fresh process's state
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s")

    one, two = await node(), await node()
    answers = await asyncio.gather(
        *(post(c, tenant, "burst", body(tenant)) for c in (one, two, one, two))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    restarted = await node()
    assert (await post(restarted, tenant, "burst", body(tenant))).json() == answers[0].json()
    assert await count_blocks(store) == 1
    for client in (one, two, restarted):
        await client.aclose()


async def test_a_refused_create_stores_no_key(client: httpx.AsyncClient, tenant: Tenant) -> None:
    missing = await post(client, tenant, "k", body(tenant, calendarId="nosuchcalendar"))
    assert missing.status_code == 404
    assert (await post(client, tenant, "k", body(tenant))).status_code == 201
    too_long = await post(client, tenant, "x" * 256, body(tenant))
    assert too_long.status_code == 400
