"""A seed request's cost inside the application (the ASGI app called directly, no HTTP), with
and without the production machinery, beside the floor app's; then a create's, and the p50
of each of its steps (the service's transaction and every statement it runs); every other
create takes the calendar's check and the insert as two statements, side by side with the
one statement PostgreSQL runs (store/block_create.py).

    .venv/bin/python -m bench.in_process                  # SQLite, N = 2k, p50 of 3,000 requests
    .venv/bin/python -m bench.in_process postgresql://postgres@127.0.0.1/slotblock_bench
                                                          # an empty PostgreSQL database
    .venv/bin/python -m bench.in_process --profile        # and the seed query's time by function
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from bench import data
from bench.floor import app_for
from bench.hotpath import create_body
from bench.run import load
from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.service import blocks as blocks_service
from slotblock.service import changes as changes_service
from slotblock.store import block_create

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


# The steps of a create, timed where they are called from (module, function).
CREATE_STEPS = (
    (blocks_service, "locks", "hold_calendar_group"),
    (blocks_service, "block_create", "hold_calendar_and_insert"),
    (blocks_service, "block_store", "insert_block"),
    (changes_service, "change_store", "take_seq"),
    (changes_service, "change_store", "insert_change"),
    (changes_service, "webhook_store", "enqueue"),
)


async def create_steps(url: str, token: str, count: int = 1_200) -> dict[str, float]:
    """p50 (µs) of a create through the app, of the service's create, of its transaction's
    start and end, and of each statement it runs (the first 200 creates warm up)."""
    times: dict[str, list[float]] = {}

    def timed(label: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def run(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                times.setdefault(label, []).append(time.perf_counter() - began)

        return run

    undo = []
    for module, holder, name in CREATE_STEPS:
        target = getattr(module, holder)
        undo.append((target, name, getattr(target, name)))
        setattr(target, name, timed(name, getattr(target, name)))
    service = blocks_service.BlockService
    undo.append((service, "create", service.create))
    service.create = timed("service create", service.create)  # type: ignore[method-assign,assignment]
    app = create_app(Settings(database_url=url, **PRODUCTION))
    store = app.state.services.store
    begin = store.begin

    @asynccontextmanager
    async def timed_begin() -> AsyncIterator[Any]:
        began = time.perf_counter()
        async with AsyncExitStack() as stack:
            conn = await stack.enter_async_context(begin())
            times.setdefault("transaction start", []).append(time.perf_counter() - began)
            yield conn
            began = time.perf_counter()
        times.setdefault("commit", []).append(time.perf_counter() - began)

    store.begin = timed_begin
    body = json.dumps(create_body()).encode()
    scope = {**_scope(b"", [(b"authorization", f"Bearer {token}".encode()),
                            (b"version", b"2021-04-15"), (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]),
             "method": "POST", "path": "/calendars/events/block-slots",
             "raw_path": b"/calendars/events/block-slots"}  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(_: Any) -> None:
        pass

    one_statement = block_create.one_statement
    try:
        async with app.router.lifespan_context(app):
            for i in range(count):
                if i == 200:
                    times.clear()
                # Side by side: every other create takes the calendar's two statements.
                two = i % 2 == 1
                block_create.one_statement = (lambda _: False) if two else one_statement  # type: ignore[assignment]
                began = time.perf_counter()
                await app(dict(scope), receive, send)
                label = "create through the app" + (", two statements" if two else "")
                times.setdefault(label, []).append(time.perf_counter() - began)
    finally:
        block_create.one_statement = one_statement
        for target, name, original in undo:
            setattr(target, name, original)
        await store.dispose()
    return {label: statistics.median(v) * 1e6 for label, v in times.items()}


async def profile(url: str, token: str, repeat: bool, top: int = 12) -> list[str]:
    """Where a seed query's time goes, by function (cProfile, own time), the share of each
    of the `top` ones in the whole: what the p50 above is made of."""
    original = p50_us
    profiler = cProfile.Profile()

    async def profiled(app: Any, queries: list[bytes], headers: list[tuple[bytes, bytes]]) -> float:
        await original(app, queries[:600], headers)  # warm up, unprofiled
        profiler.enable()
        try:
            return await original(app, queries[300:], headers)
        finally:
            profiler.disable()

    globals()["p50_us"] = profiled
    try:
        await measure(url, token, PRODUCTION, repeat)
    finally:
        globals()["p50_us"] = original
    stats = pstats.Stats(profiler)
    rows = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in rows.values())
    ranked = sorted(rows.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return [
        f"{own / total:6.1%}  {Path(where).name}:{line} {name}"
        for (where, line, name), (_, _, own, _, _) in ranked
    ]


def main() -> None:
    logging.basicConfig(stream=open(os.devnull, "w"))  # noqa: SIM115 - lives with the process
    with tempfile.TemporaryDirectory() as tmp:
        urls = [a for a in sys.argv[1:] if not a.startswith("--")]
        url = urls[0] if urls else f"sqlite:///{Path(tmp) / 'in-process.db'}"
        _, token = asyncio.run(load(url, 2_000, data.fixed_now()))
        floor = asyncio.run(p50_us(app_for(b'{"events":[]}'), [b"locationId=x"] * 3_300, []))
        print(f"floor app: p50 {floor:.0f} us")
        for name, extra in (("production machinery on", PRODUCTION), ("off", BARE)):
            for repeat in (True, False):
                us = asyncio.run(measure(url, token, extra, repeat))
                kind = "repeated" if repeat else "distinct"
                print(f"seed query, {kind}, {name}: p50 {us:.0f} us")
        for label, us in asyncio.run(create_steps(url, token)).items():
            print(f"create, production machinery on: {label}: p50 {us:.0f} us")
        if "--profile" in sys.argv:
            for repeat in (False, True):
                kind = "repeated" if repeat else "distinct"
                print(f"seed query, {kind}: own time by function (cProfile)")
                for line in asyncio.run(profile(url, token, repeat)):
                    print(f"  {line}")


if __name__ == "__main__":
    main()
