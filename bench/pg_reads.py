"""What one PostgreSQL read of the hot path costs at each layer, in one process, side by side:
`SELECT 1` and the data-version statement on one open asyncpg connection, the same statement
through asyncpg's pool (acquire, fetch, release) and through the window reader's own
connections (take, fetch, give: store/pg_connections.py), the reader's `_fetch` (its outage
translation and retry around that), and `data_version` (with its shared reads). The p50 of
3,000 of each, after 300 unmeasured, in alternating passes.

    .venv/bin/python -m bench.pg_reads postgresql://postgres@127.0.0.1/<a database>

The database is migrated and given one location's version row if it has none.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import asyncpg
import sqlalchemy as sa

from slotblock.store import open_store
from slotblock.store.migrate import upgrade
from slotblock.store.window_query import _POSTGRES_VERSION, window_reader

COUNT, WARM, PASSES = 3_000, 300, 2


async def p50_us(read: Callable[[], Awaitable[object]]) -> float:
    for _ in range(WARM):
        await read()
    times = []
    for _ in range(COUNT):
        began = time.perf_counter()
        await read()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e6


async def main(url: str) -> None:
    store = open_store(url, pool_size=4)
    await upgrade(store)
    reader = window_reader(store, 4, 1 << 20)
    assert reader is not None
    u = sa.make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                 password=u.password, database=u.database)  # fmt: skip
    try:
        location = await conn.fetchval("SELECT location_id FROM data_versions LIMIT 1")
        if location is None:
            location = "benchLocation0000000"
            await conn.execute("INSERT INTO data_versions (location_id, version) VALUES ($1, 1)",
                               location)  # fmt: skip
        # asyncpg's pool, as the reader had it before store/pg_connections.py: not reset on
        # release (reads change no session state)
        pool = await asyncpg.create_pool(url.replace("postgresql+asyncpg", "postgresql"),
                                         min_size=1, max_size=4, reset=_keep_session)  # fmt: skip
        connections = reader._postgres_connections()

        async def pooled() -> object:
            async with pool.acquire() as c:
                return await c.fetch(_POSTGRES_VERSION, location)

        async def lent() -> object:
            c = await connections.take()
            try:
                return await c.fetch(_POSTGRES_VERSION, location)
            finally:
                connections.give(c, True)

        reads: dict[str, Callable[[], Awaitable[object]]] = {
            "SELECT 1, one open connection": lambda: conn.fetchval("SELECT 1"),
            "data version, one open connection": lambda: conn.fetch(_POSTGRES_VERSION, location),
            "data version, asyncpg's pool (acquire, fetch, release)": pooled,
            "data version, the reader's connections (take, fetch, give)": lent,
            "data version, the reader's _fetch": lambda: reader._fetch(
                _POSTGRES_VERSION, [location]
            ),
            "data version, the reader's data_version": lambda: reader.data_version(location),
        }
        found: dict[str, list[float]] = {name: [] for name in reads}
        for _ in range(PASSES):
            for name, read in reads.items():
                found[name].append(await p50_us(read))
    finally:
        await conn.close()
        await pool.close()
        await reader.close()
        await store.dispose()
    print(f"p50 of {COUNT:,} reads, the better of {PASSES} passes\n")
    print("| read | p50 us |\n|---|---|")
    for name, values in found.items():
        print(f"| {name} | {min(values):.0f} |")


async def _keep_session(_: asyncpg.Connection) -> None:
    pass


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].startswith("postgresql"):
        sys.exit("usage: python -m bench.pg_reads postgresql://…/<database>")
    asyncio.run(main(sys.argv[1]))
