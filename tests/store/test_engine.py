"""store.engine and store.migrate: URLs, transactions, readiness, idempotent migrations."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from slotblock.core.model import Location
from slotblock.store import Store, async_url, directory, open_store
from slotblock.store.migrate import upgrade
from slotblock.store.window_query import window_reader
from tests.conftest import pg_url
from tests.store.rows import NOW

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite"),
        ("postgresql://u@h:5432/d", "postgresql+asyncpg"),
        ("postgres://u@h/d", "postgresql+asyncpg"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg"),
    ],
)
def test_async_url_chooses_the_async_driver(url: str, driver: str) -> None:
    assert async_url(url).drivername == driver


@pytest.mark.parametrize("url", ["nonsense", "mysql://u@h/d"])
def test_async_url_refuses_what_it_cannot_serve(url: str) -> None:
    with pytest.raises(ValueError, match="database"):
        async_url(url)


async def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.begin() as conn:
            await directory.insert_location(conn, Location("l1", "L", "UTC"), NOW)
            raise RuntimeError
    async with store.read() as conn:
        assert await directory.get_location(conn, "l1") is None


async def test_ping_and_upgrade_is_idempotent(store: Store) -> None:
    assert await store.ping()
    await upgrade(store)
    async with store.read() as conn:
        version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
    assert len(version) == 1


async def test_ping_is_false_when_no_server_answers() -> None:
    closed = open_store("postgresql://postgres@127.0.0.1:1/none", pool_size=1)
    try:
        assert not await closed.ping()
    finally:
        await closed.dispose()


@pytest.mark.postgres
async def test_a_process_opens_up_to_three_pools_worth_of_connections(pg_template: str) -> None:
    """As README's Deploying section counts: `pool_size` connections and as many again in
    overflow through SQLAlchemy, then the direct reads' own pool of `pool_size`."""
    store = open_store(pg_url(pg_template), pool_size=2)
    reader = window_reader(store, 2, block_cache_bytes=0)
    assert reader is not None
    held = []
    try:
        held = [await store.engine.connect() for _ in range(4)]  # the pool, then the overflow
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(store.engine.connect(), 0.5)
        assert await reader.data_version("nowhere") == 0  # opens the direct reads' pool
        assert reader._connections is not None and reader._connections.size == 2
    finally:
        for conn in held:
            await conn.close()
        await store.dispose()
