"""Memory and answer size are bounded whatever the client sends, stored input stays
readable, and the rule the server returns is accepted back. Both backends."""

from __future__ import annotations

import tracemalloc
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from slotblock.config import Settings
from slotblock.core.isotime import parse_iso
from slotblock.core.model import Principal, Targets
from slotblock.service.blocks import WindowQuery
from slotblock.service.container import Services
from slotblock.store import Store
from slotblock.store.tables import calendars
from tests.api.calls import blocked, create, delete, edit
from tests.conftest import Tenant
from tests.hardening.helpers import client_with

pytestmark = pytest.mark.anyio

DAY = 86_400_000
START = "2023-04-03T09:30:00+05:30"
END = "2023-04-03T10:00:00+05:30"
MS = parse_iso(START)


async def daily(client: httpx.AsyncClient, t: Tenant, **body: Any) -> dict[str, Any]:
    return await create(
        client, t, **{"startTime": START, "endTime": END, "rrule": "FREQ=DAILY", **body}
    )


async def test_answer_larger_than_the_limit_is_a_clear_422(
    settings: Settings, store: Store, tenant: Tenant
) -> None:
    async with client_with(settings, store, max_response_bytes=65_536) as (client, _):
        await daily(client, tenant, description="x" * 5_000)
        small = await blocked(client, tenant, MS, MS + 5 * DAY, calendarId=tenant.calendar_id)
        assert small.status_code == 200
        big = await blocked(client, tenant, MS, MS + 60 * DAY, calendarId=tenant.calendar_id)
    assert big.status_code == 422
    assert "65536 bytes; query a shorter window" in big.json()["message"][0]


async def test_exceptions_per_series_are_capped_and_the_rule_comes_back(
    settings: Settings, store: Store, tenant: Tenant
) -> None:
    async with client_with(settings, store, max_exceptions=3) as (client, _):
        master = await daily(client, tenant)
        ids = [f"{master['id']}_{MS + i * DAY}_1800" for i in range(1, 6)]
        for gone in ids[:2]:
            assert (await delete(client, tenant, gone)).status_code == 201
        moved = await edit(client, tenant, ids[2], title="moved")
        assert moved.status_code == 201
        refused = await delete(client, tenant, ids[3])
        assert refused.status_code == 422
        assert "at most 3 exceptions" in refused.json()["message"][0]
        assert (await edit(client, tenant, ids[4], title="x")).status_code == 422
        back = await edit(client, tenant, master["id"], rrule=moved.json()["rrule"])
    assert back.status_code == 201, back.text


async def test_a_rule_with_hundreds_of_exdates_is_accepted_back(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    stamps = ",".join(f"202304{d:02d}T040000Z" for d in range(4, 31))
    stamps += "," + ",".join(
        f"2024{m:02d}{d:02d}T040000Z" for m in range(1, 13) for d in range(1, 29)
    )
    master = await daily(client, tenant, rrule=f"RRULE:FREQ=DAILY\nEXDATE:{stamps}")
    assert len(master["rrule"]) > 4096
    answer = await edit(client, tenant, master["id"], rrule=master["rrule"])
    assert answer.status_code == 201, answer.text
    assert answer.json()["rrule"] == master["rrule"]


async def test_query_work_budget_is_a_clear_422(
    settings: Settings, store: Store, tenant: Tenant
) -> None:
    async with client_with(settings, store, query_work=200) as (client, _):
        await daily(client, tenant)
        short = await blocked(client, tenant, MS, MS + 30 * DAY, calendarId=tenant.calendar_id)
        assert short.status_code == 200
        year = await blocked(client, tenant, MS, MS + 366 * DAY, calendarId=tenant.calendar_id)
    assert year.status_code == 422
    assert "units of work; query a shorter window" in year.json()["message"][0]


async def test_expansion_cache_stays_within_its_byte_bound(
    settings: Settings, store: Store, tenant: Tenant
) -> None:
    bound = 2_000_000
    async with client_with(settings, store, expansion_cache_bytes=bound) as (client, services):
        await daily(client, tenant, description="d" * 10_000, notes="n" * 10_000)
        principal = await services.auth.authenticate(tenant.token)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for shift in range(400):  # 400 distinct one-day windows, 1 ms apart
            await _query(services, principal, tenant, MS + shift, MS + shift + DAY)
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    cache = services.blocks.expansion.cache
    assert 0 < cache.bytes <= bound
    assert len(cache) < 400  # older windows were evicted
    assert grown < 2 * bound, grown


async def _query(s: Services, who: Principal, t: Tenant, start: int, end: int) -> None:
    query = WindowQuery(t.location_id, start, end, Targets(calendar_id=t.calendar_id))
    assert await s.blocks.query(who, query)


async def test_integers_past_64_bits_are_refused_at_the_edge(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"locationId": tenant.location_id, "name": "c", "slotDuration": 2**64}
    answer = await client.post("/calendars/", json=body, headers=tenant.headers())
    assert answer.status_code == 400
    assert answer.json()["message"] == ["slotDuration must be an integer between -2^63 and 2^63-1"]
    nested = {"locationId": tenant.location_id, "name": "c", "openHours": [{"h": -(2**70)}]}
    assert (
        await client.post("/calendars/", json=nested, headers=tenant.headers())
    ).status_code == 400


async def test_reads_survive_a_huge_integer_already_stored(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    async with store.begin() as conn:
        await conn.execute(
            sa.update(calendars)
            .where(calendars.c.id == tenant.calendar_id)
            .values(extra={"slotDuration": 2**64})
        )
    listed = await client.get(
        "/calendars/", params={"locationId": tenant.location_id}, headers=tenant.headers()
    )
    assert listed.status_code == 200
    assert '"slotDuration":18446744073709551616' in listed.text.replace(" ", "")
    one = await client.get(f"/calendars/{tenant.calendar_id}", headers=tenant.headers())
    assert one.status_code == 200
    changed = await client.put(
        f"/calendars/{tenant.calendar_id}", json={"name": "renamed"}, headers=tenant.headers()
    )
    assert changed.status_code == 200
