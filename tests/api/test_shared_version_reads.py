"""Answers served from the answer cache at concurrency: on PostgreSQL the location's version
reads of concurrent requests share round trips (store/shared_reads.py), and every answer
still holds every write acknowledged before its request was sent, by this node or another.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from slotblock.service.container import Services
from tests.api.calls import create
from tests.api.test_fast_path_differential import ALL_ON, DAY, T0, App, app_settings, iso, serving
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio


async def window(app: App, t: Tenant) -> httpx.Response:
    params = {"locationId": t.location_id, "calendarId": t.calendar_id,
              "startTime": str(T0), "endTime": str(T0 + 7 * DAY)}  # fmt: skip
    return await app.client.get("/calendars/blocked-slots", params=params, headers=t.headers())


async def test_concurrent_hits_share_version_reads_and_see_every_acknowledged_write(
    database_url: str, services: Services, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    t = tenant
    await create(client, t, title="first", startTime=iso(T0 + 3_600_000),
                 endTime=iso(T0 + 7_200_000))  # fmt: skip
    async with (
        serving(app_settings(database_url, ALL_ON)) as app,
        serving(app_settings(database_url, ALL_ON)) as other_node,
    ):
        reader = app.services.blocks.reader
        assert reader is not None
        assert (await window(app, t)).status_code == 200  # cached from here on
        before = reader.versions.reads
        answers = await asyncio.gather(*(window(app, t) for _ in range(64)))
        assert {r.status_code for r in answers} == {200}
        assert len({r.content for r in answers}) == 1
        shared = reader.versions.reads - before
        if reader.is_sqlite:
            assert shared == 0  # SQLite's version is read on the reader's own connection
        else:
            assert 1 <= shared < 64, shared

        async def write_then_read(i: int) -> None:
            for j in range(4):
                start = T0 + (i * 4 + j + 1) * 4 * 3_600_000
                writer = other_node if (i + j) % 2 else app
                made = await create(writer.client, t, title=f"w{i}.{j}",
                                    startTime=iso(start),
                                    endTime=iso(start + 3_600_000))  # fmt: skip
                seen = await window(app, t)
                assert seen.status_code == 200
                assert made["id"] in {e["id"] for e in seen.json()["events"]}, (i, j)

        readers = [asyncio.gather(*(window(app, t) for _ in range(8))) for _ in range(4)]
        await asyncio.gather(*(write_then_read(i) for i in range(8)), *readers)
        assert len(reader.versions) == 0  # nothing kept once idle
