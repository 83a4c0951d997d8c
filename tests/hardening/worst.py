"""The most expensive requests one token can construct, and a probe of /healthz while they
run: shared by the CPU test and bench/hardening.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from slotblock.core.isotime import parse_iso
from slotblock.core.model import Block
from slotblock.core.tokens import new_id
from slotblock.store import blocks as block_store
from slotblock.store import open_store
from tests.conftest import Tenant

# Rules that never match after (or at) their start: dateutil walks to the year 9999.
NEVER = ("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")
# Accepted at write time, but each occurrence decades apart (Feb 29 on a Monday).
SPARSE = "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"
SPARSE_START = "2044-02-29T09:00:00+00:00"


@dataclass
class Timed:
    status: int
    seconds: float
    healthz_worst: float


def timed(call: Callable[[], httpx.Response], base: str) -> Timed:
    """Run `call` while /healthz is polled; the call's time and the slowest /healthz."""
    worst = 0.0
    done = threading.Event()

    def probe() -> None:
        nonlocal worst
        with httpx.Client(base_url=base, timeout=30) as probe_client:
            while not done.is_set():
                began = time.perf_counter()
                probe_client.get("/healthz")
                worst = max(worst, time.perf_counter() - began)
                time.sleep(0.01)

    thread = threading.Thread(target=probe)
    thread.start()
    time.sleep(0.05)
    began = time.perf_counter()
    try:
        response = call()
    finally:
        seconds = time.perf_counter() - began
        time.sleep(0.05)
        done.set()
        thread.join()
    return Timed(response.status_code, seconds, worst)


def worst_create(client: httpx.Client, t: Tenant, rule: str) -> httpx.Response:
    body = {
        "locationId": t.location_id,
        "calendarId": t.calendar_id,
        "startTime": "2026-02-28T09:00:00+00:00",
        "endTime": "2026-02-28T10:00:00+00:00",
        "rrule": rule,
    }
    return client.post("/calendars/events/block-slots", json=body, headers=t.headers())


def worst_query(client: httpx.Client, t: Tenant, start_ms: int, days: int) -> httpx.Response:
    params = {
        "locationId": t.location_id,
        "calendarId": t.calendar_id,
        "startTime": str(start_ms),
        "endTime": str(start_ms + days * 86_400_000),
    }
    return client.get("/calendars/blocked-slots", params=params, headers=t.headers())


async def store_sparse_series(url: str, t: Tenant, count: int) -> None:
    """`count` endless sparse series on the tenant's calendar, written in one batch."""
    start = parse_iso(SPARSE_START)
    made: list[Any] = [
        Block(
            location_id=t.location_id,
            id=new_id(),
            calendar_id=t.calendar_id,
            assigned_user_id=None,
            title="sparse",
            description="",
            notes="",
            address="",
            start_ms=start,
            end_ms=start + 3_600_000,
            timezone="UTC",
            rrule=SPARSE,
            last_start_ms=None,
            overrides=(),
            created_ms=0,
            updated_ms=0,
        )
        for _ in range(count)
    ]
    store = open_store(url, pool_size=1)
    try:
        async with store.begin() as conn:
            await block_store.insert_blocks(conn, made)
    finally:
        await store.dispose()
