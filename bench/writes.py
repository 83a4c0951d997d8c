"""Latency of block writes in process (ASGI, no socket; SQLite in a temporary file): create,
edit with If-Match, and create with an Idempotency-Key, with 0 and with 3 webhook
subscriptions on the location (each write also takes a change number, logs the change and
queues one outbox row per subscription, in its own transaction). Medians of sequential
requests.

    .venv/bin/python bench/writes.py [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.service import demo
from slotblock.service.container import build_services
from slotblock.store import open_store
from slotblock.store.migrate import upgrade


def _body(i: int) -> dict[str, str]:
    return {
        "locationId": demo.LOCATION_ID,
        "calendarId": demo.CALENDAR_ID,
        "startTime": f"2030-01-{1 + i % 28:02}T09:00:00Z",
        "endTime": f"2030-01-{1 + i % 28:02}T10:00:00Z",
    }


Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def _timed(client: httpx.AsyncClient, requests: int, call: Call) -> float:
    times = []
    for i in range(requests):
        began = time.perf_counter()
        response = await call(client, i)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 201, response.text
    return statistics.median(times)


async def measure(requests: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        store = open_store(url)
        await upgrade(store)
        # Deliveries are never sent (no dispatcher); the subscriptions name this machine.
        settings = Settings(
            database_url=url, webhook_dispatch=False, outbound_allow_networks="127.0.0.0/8"
        )
        services = build_services(store, settings)
        await demo.ensure_demo(services.tenants, services.calendars, services.blocks)
        token, _ = await services.tenants.create_token(demo.LOCATION_ID, name="bench")
        headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
        app = create_app(settings, store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def create(c: httpx.AsyncClient, i: int) -> httpx.Response:
                return await c.post("/calendars/events/block-slots", json=_body(i), headers=headers)

            async def keyed(c: httpx.AsyncClient, i: int) -> httpx.Response:
                keyed_headers = {**headers, "Idempotency-Key": f"key-{i}-{time.time_ns()}"}
                path = "/calendars/events/block-slots"
                return await c.post(path, json=_body(i), headers=keyed_headers)

            made = (await create(client, 0)).json()["id"]
            tag = ['"1"']

            async def edit(c: httpx.AsyncClient, i: int) -> httpx.Response:
                response = await c.put(
                    f"/calendars/events/block-slots/{made}",
                    json={"locationId": demo.LOCATION_ID, "title": f"edit {i}"},
                    headers={**headers, "If-Match": tag[0]},
                )
                tag[0] = response.headers["etag"]
                return response

            for hooks in (0, 3):
                while len(await services.webhooks.list_all(demo.LOCATION_ID)) < hooks:
                    await services.webhooks.add(demo.LOCATION_ID, "http://127.0.0.1:9/hook")
                for name, call in (("create", create), ("edit, If-Match", edit),
                                   ("create, Idempotency-Key", keyed)):  # fmt: skip
                    p50 = await _timed(client, requests, call)
                    print(f"{name:26} {hooks} subscriptions   p50 {p50:6.2f} ms")
        await store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(measure(parser.parse_args().requests))


if __name__ == "__main__":
    main()
