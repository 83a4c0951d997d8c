"""The fast path's direct reads fail as the store's reads do, on SQLite and PostgreSQL: an
outage is Unavailable on both, anything else is no outage on either, and a connection the
server dropped is replaced and read again."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from slotblock.core.errors import Unavailable
from slotblock.core.model import Targets
from slotblock.store import Store, open_store
from slotblock.store import blocks as block_store
from slotblock.store.window_query import WindowReader, window_reader
from tests.conftest import _pg_execute, pg_url
from tests.live import free_port

pytestmark = pytest.mark.anyio

WINDOW = ("loc", 0, 86_400_000)


async def through_the_store(store: Store) -> object:
    async with store.read() as conn:
        return await block_store.blocks_in_window(conn, *WINDOW, Targets(calendar_id="cal"))


async def through_the_reader(store: Store) -> object:
    reader = window_reader(store, 1, 1_000_000)
    assert reader is not None
    await reader.data_version("loc")
    return await reader.blocks_in_window(*WINDOW, Targets(calendar_id="cal"))


READS = [through_the_store, through_the_reader]


async def outcome(url: str, read: Callable[[Store], Awaitable[object]]) -> str:
    store = open_store(url, pool_size=1)
    try:
        await read(store)
    except Unavailable:
        return "unavailable"
    except Exception:  # noqa: BLE001 - any other failure is the same verdict: not an outage
        return "error"
    finally:
        await store.dispose()
    return "answered"


@pytest.fixture
async def empty_postgres() -> AsyncIterator[str]:
    """A PostgreSQL database without slotblock's tables."""
    name = f"slotblock_empty_{secrets.token_hex(4)}"
    try:
        await _pg_execute(f'CREATE DATABASE "{name}"')
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server answers ({exc})")
    try:
        yield pg_url(name)
    finally:
        await _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_sqlite_failures_have_one_verdict(tmp_path: Path) -> None:
    (tmp_path / "a-directory.db").mkdir()
    (tmp_path / "empty.db").touch()
    for name, verdict in (("a-directory.db", "unavailable"), ("empty.db", "unavailable")):
        url = f"sqlite:///{tmp_path / name}"
        assert [await outcome(url, read) for read in READS] == [verdict, verdict], name


@pytest.mark.postgres
async def test_postgres_failures_have_one_verdict(empty_postgres: str) -> None:
    refused = f"postgresql://postgres@127.0.0.1:{free_port()}/x"
    assert [await outcome(refused, read) for read in READS] == ["unavailable"] * 2
    # a missing table is a bug, not an outage: a 500 on both paths, never a 503
    assert [await outcome(empty_postgres, read) for read in READS] == ["error"] * 2


@pytest.mark.postgres
async def test_a_dropped_connection_is_replaced_and_read_again(pg_template: str) -> None:
    database_url = pg_url(pg_template)
    store = open_store(database_url, pool_size=2)
    reader = WindowReader(store.url, 2)
    name = sa.make_url(database_url).database
    kill = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")  # fmt: skip
    try:
        for _ in range(5):
            versions: list[Any] = [await reader.data_version("loc") for _ in range(3)]
            assert versions == [0, 0, 0]
            await _pg_execute(kill)
            assert await reader.blocks_in_window(*WINDOW, Targets(calendar_id="cal")) == []
    finally:
        await reader.close()
        await store.dispose()
