"""The figures of the hardening work, on SQLite and PostgreSQL, over a real server:

    .venv/bin/python -m bench.hardening            # both backends (PostgreSQL if one answers)
    .venv/bin/python -m bench.hardening --sqlite-only

* worst request: the most expensive create (never-matching rules) and query (300 endless
  sparse series; one day, the same day shifted 1 ms, a whole year) — seconds each, and the
  slowest /healthz answered while it ran;
* cache bound: 400 distinct one-day windows over a series with 20 KB of text: the bytes the
  expansion cache accounts, its bound, and the process's allocation growth (tracemalloc);
* 409 rate: rounds of 16 concurrent writers on one series;
* 5xx under delete races: rounds of a calendar (group) delete racing writes onto it.

PostgreSQL: SLOTBLOCK_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
a throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import secrets
import tempfile
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from slotblock.config import Settings
from slotblock.core.isotime import parse_iso
from slotblock.core.model import Targets
from slotblock.service.blocks import WindowQuery
from slotblock.service.container import build_services
from slotblock.store import open_store
from tests.conftest import PG_URL, Tenant, _migrate, _pg_execute, pg_url, seed_tenants
from tests.hardening import worst
from tests.live import live_server

DAY = 86_400_000
START = "2023-04-03T09:30:00+05:30"
END = "2023-04-03T10:00:00+05:30"
MS = parse_iso(START)


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            asyncio.run(_migrate(url))
            yield url
        return
    name = f"slotblock_hardening_{secrets.token_hex(4)}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_migrate(pg_url(name)))
        yield pg_url(name)
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def worst_requests(url: str) -> list[tuple[str, worst.Timed]]:
    (tenant,) = asyncio.run(seed_tenants(url, ("UTC",)))
    asyncio.run(worst.store_sparse_series(url, tenant, 300))
    day = parse_iso("2050-06-01T00:00:00Z")
    out = []
    with (
        live_server(Settings(database_url=url)) as base,
        httpx.Client(base_url=base, timeout=120) as c,
    ):
        for rule in worst.NEVER:
            out.append(
                (
                    f"create {rule}",
                    worst.timed(functools.partial(worst.worst_create, c, tenant, rule), base),
                )
            )
        for label, start, days in (
            ("1 day", day, 1),
            ("1 day + 1 ms", day + 1, 1),
            ("366 days", day, 366),
        ):
            timed = worst.timed(functools.partial(worst.worst_query, c, tenant, start, days), base)
            out.append((f"query 300 sparse series, {label}", timed))
    asyncio.run(worst.store_sparse_series(url, tenant, 900))
    with (
        live_server(Settings(database_url=url)) as base,
        httpx.Client(base_url=base, timeout=120) as c,
    ):
        timed = worst.timed(functools.partial(worst.worst_query, c, tenant, day, 366), base)
        out.append(("query 1,200 sparse series, 366 days (past the work budget)", timed))
    return out


async def cache_bound(url: str, bound: int = 4_000_000) -> dict[str, int]:
    (tenant,) = await seed_tenants(url, ("Asia/Kolkata",))
    store = open_store(url, pool_size=2)
    try:
        services = build_services(store, Settings(database_url=url, expansion_cache_bytes=bound))
        who = await services.auth.authenticate(tenant.token)
        await services.blocks.create(
            who, _daily_input(tenant, description="d" * 10_000, notes="n" * 10_000)
        )
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for shift in range(400):
            query = WindowQuery(
                tenant.location_id,
                MS + shift,
                MS + shift + DAY,
                Targets(calendar_id=tenant.calendar_id),
            )
            await services.blocks.query(who, query)
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        cache = services.blocks.expansion.cache
        return {
            "bound": bound,
            "accounted": cache.bytes,
            "entries": len(cache),
            "allocated_growth": grown,
        }
    finally:
        await store.dispose()


def _daily_input(t: Tenant, **texts: str) -> Any:
    from slotblock.service.blocks import BlockInput

    return BlockInput(
        location_id=t.location_id,
        calendar_id=t.calendar_id,
        start_ms=MS,
        end_ms=MS + 1_800_000,
        rrule="FREQ=DAILY",
        texts=texts,
    )


async def _writers(base: str, t: Tenant, rounds: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(
        base_url=base, timeout=60, limits=httpx.Limits(max_connections=32)
    ) as c:
        body = {
            "locationId": t.location_id,
            "calendarId": t.calendar_id,
            "startTime": START,
            "endTime": END,
            "rrule": "FREQ=DAILY",
        }
        master = (
            await c.post("/calendars/events/block-slots", json=body, headers=t.headers())
        ).json()
        for r in range(rounds):
            ids = [f"{master['id']}_{MS + (r * 16 + i) * DAY}_1800" for i in range(16)]
            answers = await asyncio.gather(
                *(
                    c.put(
                        f"/calendars/events/block-slots/{i}",
                        json={"locationId": t.location_id, "title": "w"},
                        headers=t.headers(),
                    )
                    for i in ids
                )
            )
            statuses.update(a.status_code for a in answers)
    return statuses


async def _delete_races(base: str, t: Tenant, rounds: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    h = t.headers()
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        for _ in range(rounds):
            cal = (
                await c.post(
                    "/calendars/", json={"locationId": t.location_id, "name": "x"}, headers=h
                )
            ).json()["calendar"]["id"]
            block = {
                "locationId": t.location_id,
                "calendarId": cal,
                "startTime": START,
                "endTime": END,
            }
            group = (
                await c.post(
                    "/calendars/groups",
                    json={"locationId": t.location_id, "name": "g", "description": "", "slug": "g"},
                    headers=h,
                )
            ).json()["group"]["id"]
            calls = [
                c.delete(f"/calendars/{cal}", headers=h),
                *(c.post("/calendars/events/block-slots", json=block, headers=h) for _ in range(3)),
                c.delete(f"/calendars/groups/{group}", headers=h),
                c.post(
                    "/calendars/",
                    json={"locationId": t.location_id, "name": "c", "groupId": group},
                    headers=h,
                ),
                c.put(f"/calendars/{t.calendar_id}", json={"groupId": group}, headers=h),
            ]
            random.shuffle(calls)  # whichever comes first, the answer must be defined
            answers = await asyncio.gather(*calls)
            statuses.update(a.status_code for a in answers)
    return statuses


def races(url: str) -> tuple[Counter[int], Counter[int]]:
    (tenant,) = asyncio.run(seed_tenants(url, ("Asia/Kolkata",)))
    with live_server(Settings(database_url=url)) as base:
        return asyncio.run(_writers(base, tenant, 10)), asyncio.run(_delete_races(base, tenant, 30))


def report(backend: str) -> None:
    print(f"\n## {backend}\n")
    with database(backend) as url:
        print(
            "| worst request | status | seconds | slowest /healthz meanwhile |\n|---|---|---|---|"
        )
        for label, t in worst_requests(url):
            print(f"| {label} | {t.status} | {t.seconds:.3f} | {t.healthz_worst:.3f} |")
    with database(backend) as url:
        print(f"\ncache (400 distinct windows): {asyncio.run(cache_bound(url))}")
    with database(backend) as url:
        writers, deletes = races(url)
    total = sum(writers.values())
    print(f"16 writers x 10 rounds: {dict(writers)}; 409 rate {writers[409] / total:.1%}")
    fivexx = sum(n for s, n in deletes.items() if s >= 500)
    print(f"delete races x 30 rounds: {dict(deletes)}; 5xx {fivexx} of {sum(deletes.values())}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    report("sqlite")
    if not args.sqlite_only:
        try:
            asyncio.run(_pg_execute("SELECT 1"))
        except OSError as exc:
            print(f"\nPostgreSQL at {PG_URL} does not answer ({exc}): skipped")
            return
        report("postgresql")


if __name__ == "__main__":
    main()
