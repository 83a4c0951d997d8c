"""Latency of the availability reads on the demo data, in process (ASGI, no socket): free
slots over 7 and 31 days, free/busy of a calendar and a user, next to get-blocked-slots on
the same window (medians and p95 of sequential requests; SQLite in a temporary file).

    .venv/bin/python bench/availability.py [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.service import demo
from slotblock.service.container import build_services
from slotblock.store import open_store
from slotblock.store.migrate import upgrade

DAY = 86_400_000


async def measure(requests: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        store = open_store(url)
        await upgrade(store)
        settings = Settings(database_url=url)
        services = build_services(store, settings)
        await demo.ensure_demo(services.tenants, services.calendars, services.blocks)
        token, _ = await services.tenants.create_token(demo.LOCATION_ID, name="bench")
        app = create_app(settings, store)
        headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
        start, _ = demo.coming_week(time.time_ns() // 1_000_000)
        loc, cal, user = demo.LOCATION_ID, demo.CALENDAR_ID, demo.USER_ID
        cases: dict[str, tuple[str, dict[str, object]]] = {
            "free-slots, 7 days": (f"/calendars/{cal}/free-slots", {"endDate": start + 7 * DAY}),
            "free-slots, 31 days": (f"/calendars/{cal}/free-slots", {"endDate": start + 31 * DAY}),
            "free-busy, calendar + user, 7 days": (
                "/calendars/free-busy",
                {"locationId": loc, "calendarId": cal, "userId": user, "endTime": start + 7 * DAY},
            ),
            "blocked-slots, calendar, 7 days": (
                "/calendars/blocked-slots",
                {"locationId": loc, "calendarId": cal, "endTime": start + 7 * DAY},
            ),
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, (path, params) in cases.items():
                key = "startDate" if "endDate" in params else "startTime"
                query = {key: str(start), **{k: str(v) for k, v in params.items()}}
                times = []
                for _ in range(requests):
                    began = time.perf_counter()
                    response = await client.get(path, params=query, headers=headers)
                    times.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200, response.text
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                print(f"{name:40} p50 {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms")
        await store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    asyncio.run(measure(parser.parse_args().requests))


if __name__ == "__main__":
    main()
