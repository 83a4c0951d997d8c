"""A seed request's cost inside the application (the ASGI app called directly, no HTTP), with
and without the production machinery, beside the floor app's.

    .venv/bin/python -m bench.in_process        # SQLite, N = 2k, p50 of 3,000 requests
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import data
from bench.floor import app_for
from bench.run import load
from slotblock.api.app import create_app
from slotblock.config import Settings

PRODUCTION: dict[str, Any] = {
    "rate_limit_burst": 10**9, "rate_limit_daily": 10**9, "access_log": True, "metrics": "open"
}  # fmt: skip
BARE: dict[str, Any] = {
    "rate_limit_burst": 0, "rate_limit_daily": 0, "auth_failure_limit": 0,
    "access_log": False, "metrics": "off",
}  # fmt: skip


def _scope(query: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/calendars/blocked-slots",
            "raw_path": b"/calendars/blocked-slots", "query_string": query, "headers": headers,
            "client": ("127.0.0.1", 1), "server": ("x", 80), "scheme": "http",
            "http_version": "1.1", "root_path": "", "asgi": {"version": "3.0"}}  # fmt: skip


async def p50_us(app: Any, queries: list[bytes], headers: list[tuple[bytes, bytes]]) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: Any) -> None:
        pass

    times = []
    for i, query in enumerate(queries):
        began = time.perf_counter()
        await app(_scope(query, headers), receive, send)
        if i >= 300:  # warm-up
            times.append(time.perf_counter() - began)
    times.sort()
    return times[len(times) // 2] * 1e6


async def measure(url: str, token: str, extra: dict[str, Any], repeat: bool) -> float:
    t, now = data.tenant(0), data.fixed_now()
    start, end = data.week_window(now)
    app = create_app(Settings(database_url=url, **extra))
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"version", b"v3")]
    queries = [
        f"locationId={t.location.id}&calendarId={t.calendars[0].id}"
        f"&startTime={start + k * 60_000}&endTime={end + k * 60_000}".encode()
        for k in (0 if repeat else i for i in range(3_300))
    ]
    try:
        return await p50_us(app, queries, headers)
    finally:
        await app.state.services.store.dispose()


def main() -> None:
    logging.basicConfig(stream=open(os.devnull, "w"))  # noqa: SIM115 - lives with the process
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'in-process.db'}"
        _, token = asyncio.run(load(url, 2_000, data.fixed_now()))
        floor = asyncio.run(p50_us(app_for(b'{"events":[]}'), [b"locationId=x"] * 3_300, []))
        print(f"floor app: p50 {floor:.0f} us")
        for name, extra in (("production machinery on", PRODUCTION), ("off", BARE)):
            for repeat in (True, False):
                us = asyncio.run(measure(url, token, extra, repeat))
                kind = "repeated" if repeat else "distinct"
                print(f"seed query, {kind}, {name}: p50 {us:.0f} us")


if __name__ == "__main__":
    main()
