"""The number of PostgreSQL connections one process opens, as the README states it: the
engine's pool and its overflow (2 x SLOTBLOCK_POOL_SIZE) and, with direct reads on, the
query's own pool (1 x): at most 3 x SLOTBLOCK_POOL_SIZE, under any load."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import httpx
import pytest
import sqlalchemy as sa

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.service.container import build_services
from slotblock.store import open_store
from tests.api.calls import create
from tests.conftest import PG_URL, Tenant, make_tenant, pg_url

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

POOL = 2
DAY = 86_400_000
T0 = 1_680_373_800_000


async def connections(database: str) -> int:
    url = sa.make_url(PG_URL)
    admin = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username,
                                  database=url.database or "postgres")  # fmt: skip
    try:
        found: int = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        return found
    finally:
        await admin.close()


@pytest.mark.parametrize("direct_reads", [True, False])
async def test_at_most_three_pools_worth_of_connections(
    pg_template: str, direct_reads: bool
) -> None:
    url = pg_url(pg_template)
    seed = open_store(url, pool_size=1)
    try:
        tenant = await make_tenant(build_services(seed, Settings(database_url=url)))
    finally:
        await seed.dispose()
    settings = Settings(database_url=url, pool_size=POOL, direct_reads=direct_reads)
    app = create_app(settings)
    reader = app.state.services.blocks.reader
    assert (reader is not None) == direct_reads
    transport = httpx.ASGITransport(app=app)
    seen = [0]
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            seen.append(await connections(pg_template))
            await asyncio.sleep(0.005)

    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            await create(client, tenant, startTime="2023-04-03T10:00:00+05:30",
                         endTime="2023-04-03T11:00:00+05:30", rrule="RRULE:FREQ=HOURLY")  # fmt: skip
            watcher = asyncio.get_running_loop().create_task(watch())
            await asyncio.gather(*(load(client, tenant, n) for n in range(48)))
            stop.set()
            await watcher
    finally:
        await app.state.services.store.dispose()
    most = (3 if direct_reads else 2) * POOL
    assert 0 < max(seen) <= most, seen


async def load(client: httpx.AsyncClient, t: Tenant, n: int) -> None:
    rng = random.Random(n)
    for _ in range(4):
        start = T0 + rng.randrange(0, 90 * DAY, 60_000)
        if rng.random() < 0.3:
            await create(client, t, startTime=f"2024-01-0{1 + n % 9}T10:00:00Z",
                         endTime=f"2024-01-0{1 + n % 9}T11:00:00Z")  # fmt: skip
            continue
        params = {"locationId": t.location_id, "calendarId": t.calendar_id,
                  "startTime": str(start), "endTime": str(start + 30 * DAY)}  # fmt: skip
        answer = await client.get("/calendars/blocked-slots", params=params, headers=t.headers())
        assert answer.status_code == 200, answer.text
