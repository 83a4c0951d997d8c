"""store.engine and store.migrate: URLs, transactions, readiness, idempotent migrations."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from slotblock.core.model import Location
from slotblock.store import Store, async_url, directory, open_store
from slotblock.store.migrate import upgrade
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
