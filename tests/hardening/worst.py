"""The most expensive requests one token can construct, and a probe of /healthz while they
run: shared by the CPU test and bench/hardening.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from slotblock.config import Settings
from slotblock.core.isotime import parse_iso
from slotblock.core.model import SCOPES, Block
from slotblock.core.tokens import new_id
from slotblock.service.calendars import CalendarInput
from slotblock.service.container import build_services
from slotblock.store import blocks as block_store
from slotblock.store import directory, open_store
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


# --- free slots and free/busy --------------------------------------------------------

DAY = 86_400_000
WEEKDAYS = [1, 2, 3, 4, 5]
NINE_TO_FIVE = {"openHour": 9, "openMinute": 0, "closeHour": 17, "closeMinute": 0}
ONE_MINUTE = {"slotDuration": 1, "slotInterval": 1}


@dataclass
class SlotShapes:
    location: str
    token: str
    calendars: dict[str, str]  # shape name -> calendar id
    busy_user: str  # a user with an hourly series, for free/busy
    start: int


def _hours(ranges: int) -> dict[str, Any]:
    return {"openHours": [{"daysOfTheWeek": WEEKDAYS, "hours": [NINE_TO_FIVE] * ranges}]}


async def store_slot_shapes(url: str, count: int = 1_000) -> SlotShapes:
    """The worst shapes of free slots and free/busy (a migrated database): a UTC location
    with `count` users (300 at least) and a calendar per shape, 1-minute slots on weekdays
    09:00-17:00; users 0-199 busy over the whole window, the last 100 free, the last one
    with an endless hourly series (for free/busy)."""
    store = open_store(url, pool_size=2)
    try:
        svc = build_services(store, Settings(database_url=url))
        location = (await svc.tenants.create_location("Probe", "UTC")).id
        users = [f"u{i:05d}".ljust(20, "x") for i in range(count)]
        async with store.begin() as conn:
            for user in users:
                await directory.insert_user(conn, location, user, user, "", 0)
        token, _ = await svc.tenants.create_token(location, SCOPES, "probe")
        start = (time.time_ns() // 1_000_000 // DAY + 2) * DAY

        async def calendar(members: list[str], kind: str, extra: dict[str, Any]) -> str:
            team = tuple({"userId": u} for u in members)
            body = CalendarInput(
                name="c", calendar_type=kind, team_members=team, extra={**ONE_MINUTE, **extra}
            )
            return (await svc.calendars.add_calendar(location, body)).id

        calendars = {
            "rr200": await calendar(users[:200], "round_robin", _hours(1)),
            "rr1000": await calendar(users, "round_robin", _hours(1)),
            "col1000": await calendar(users, "collective", _hours(1)),
            "ranges3000": await calendar([], "event", _hours(3_000)),
            "ranges15000": await calendar([], "event", _hours(15_000)),
            "rr100": await calendar(users[:100], "round_robin", _hours(1)),
            "col100": await calendar(users[-100:], "collective", _hours(1)),
        }
        # users 0-199 are busy (one block over the whole window each); the last 100 free
        blocks = [_block(location, user, start - DAY, start + 40 * DAY) for user in users[:200]]
        hourly = users[-1]
        series = _block(location, hourly, start, start + 1_800_000)
        blocks.append(replace(series, rrule="RRULE:FREQ=HOURLY"))
        async with store.begin() as conn:
            await block_store.insert_blocks(conn, blocks)
        return SlotShapes(location, token, calendars, hourly, start)
    finally:
        await store.dispose()


def _block(location: str, user: str, start: int, end: int) -> Block:
    return Block(
        location_id=location, id=new_id(), calendar_id=None, assigned_user_id=user,
        title="busy", description="", notes="", address="", start_ms=start, end_ms=end,
        timezone="UTC", rrule=None, last_start_ms=None, overrides=(), created_ms=0, updated_ms=0,
    )  # fmt: skip
