"""The window reader's own PostgreSQL connections (store/pg_connections.py), on a real server:
never more than `size` open, a fair wait bounded by `wait`, a connection whose statement did not
finish cleanly never lent again, one idle too long ended, expiry and closing, and no place lost
under cancellations."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
import sqlalchemy as sa

from slotblock.store.pg_connections import Connections
from tests.conftest import _pg_admin, pg_url
from tests.live import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


class Server:
    """Connections to the test database under one application name, to count them."""

    def __init__(self, database: str) -> None:
        self.url = sa.make_url(pg_url(database))
        self.name = f"slotblock-conns-{secrets.token_hex(4)}"

    async def connect(self) -> asyncpg.Connection:
        u = self.url
        return await asyncpg.connect(
            host=u.host, port=u.port or 5432, user=u.username, password=u.password,
            database=u.database, server_settings={"application_name": self.name},
        )  # fmt: skip

    async def backends(self) -> int:
        admin = await _pg_admin()
        try:
            await asyncio.sleep(0.05)  # a terminated socket's backend takes a moment to go
            found: int = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", self.name
            )
            return found
        finally:
            await admin.close()


@pytest.fixture
async def server(pg_template: str) -> AsyncIterator[Server]:
    yield Server(pg_template)


async def settled(connections: Connections, places: int) -> None:
    """Wait (up to 5 s) for the connections being closed in the background to be gone."""
    for _ in range(500):
        if connections.open == places:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{connections.open} places taken, not {places}")


async def read(connections: Connections, sql: str = "SELECT pg_backend_pid()") -> int:
    conn = await connections.take()
    clean = False
    try:
        value: int = await conn.fetchval(sql)
        clean = True
        return value
    except asyncpg.PostgresError:
        clean = True
        raise
    finally:
        connections.give(conn, clean)


async def test_at_most_size_connections_serve_many_callers(server: Server) -> None:
    connections = Connections(server.connect, 3, wait=10)
    try:
        highest = 0

        async def one() -> int:
            nonlocal highest
            highest = max(highest, connections.open)
            return await read(connections, "SELECT pg_backend_pid() FROM pg_sleep(0.01)")

        pids = await asyncio.gather(*(one() for _ in range(30)))
        assert len(set(pids)) == 3 and highest <= 3
        assert connections.open == 3 and await server.backends() == 3
        # idle again, each read lends one of the same three
        assert {await read(connections) for _ in range(10)} <= set(pids)
    finally:
        await connections.close()
    assert connections.open == 0 and await server.backends() == 0


async def test_a_connection_idle_too_long_is_ended_not_lent(server: Server) -> None:
    now = [0.0]
    connections = Connections(server.connect, 2, wait=5, idle_seconds=300, clock=lambda: now[0])
    try:
        first, second = await connections.take(), await connections.take()
        connections.give(first, clean=True)
        now[0] = 200.0
        connections.give(second, clean=True)  # idle since 200, `first` since 0
        now[0] = 300.5  # `first` idle past 300 s, `second` not
        assert await connections.take() is second
        assert first.is_closed() and connections.open == 1
        assert await server.backends() == 1
        connections.give(second, clean=True)
        now[0] = 1000.0  # every idle one is stale: a new connection, in the freed place
        fresh = await connections.take()
        assert fresh is not second and second.is_closed()
        assert connections.open == 1 and await fresh.fetchval("SELECT 1") == 1
        connections.give(fresh, clean=True)
    finally:
        await connections.close()
    assert connections.open == 0 and await server.backends() == 0


async def test_a_caller_waits_its_turn_up_to_the_wait(server: Server) -> None:
    connections = Connections(server.connect, 1, wait=0.2)
    try:
        held = await connections.take()
        with pytest.raises(TimeoutError):
            await connections.take()
        # the waiter that gave up is gone: the next one is handed the connection given back
        waiting = asyncio.create_task(connections.take())
        await asyncio.sleep(0.05)
        connections.give(held, clean=True)
        assert await waiting is held
        connections.give(held, clean=True)
        assert connections.open == 1
    finally:
        await connections.close()


async def test_first_come_first_served(server: Server) -> None:
    connections = Connections(server.connect, 1, wait=5)
    try:
        held = await connections.take()
        order: list[int] = []

        async def waiter(n: int) -> None:
            conn = await connections.take()
            order.append(n)
            await asyncio.sleep(0.01)
            connections.give(conn, clean=True)

        tasks = []
        for n in range(5):
            tasks.append(asyncio.create_task(waiter(n)))
            await asyncio.sleep(0.01)
        connections.give(held, clean=True)
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3, 4]
    finally:
        await connections.close()


async def test_a_statement_that_did_not_finish_ends_its_connection(server: Server) -> None:
    connections = Connections(server.connect, 1, wait=5)
    try:
        first = await read(connections)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(read(connections, "SELECT pg_sleep(30)"), 0.2)
        # the cancelled statement's connection was ended, and its place is free again
        second = await read(connections)
        assert second != first
        assert connections.open == 1 and await server.backends() == 1
        # the server's error leaves the connection idle: it is lent again
        with pytest.raises(asyncpg.UndefinedTableError):
            await read(connections, "SELECT * FROM no_such_table")
        assert await read(connections) == second
    finally:
        await connections.close()


async def test_expire_ends_the_idle_now_and_the_lent_when_given_back(server: Server) -> None:
    connections = Connections(server.connect, 2, wait=5)
    try:
        lent = await connections.take()
        idle = await read(connections)
        connections.expire()
        await settled(connections, 1)  # the idle one went at once
        lent_pid = await lent.fetchval("SELECT pg_backend_pid()")  # still usable until given
        connections.give(lent, clean=True)
        await settled(connections, 0)
        assert lent.is_closed() and await server.backends() == 0
        assert await read(connections) not in (idle, lent_pid)
    finally:
        await connections.close()


async def test_a_connection_the_server_closed_is_not_lent_again(server: Server) -> None:
    connections = Connections(server.connect, 1, wait=5)
    try:
        first = await read(connections)
        admin = await _pg_admin()
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)  # the server's goodbye has reached the idle connection
        assert await read(connections) != first
    finally:
        await connections.close()


async def test_close_fails_the_waiting_and_ends_the_lent(server: Server) -> None:
    connections = Connections(server.connect, 1, wait=5)
    held = await connections.take()
    waiting = asyncio.create_task(connections.take())
    await asyncio.sleep(0.05)
    await connections.close()
    with pytest.raises(asyncpg.InterfaceError):
        await waiting
    with pytest.raises(asyncpg.InterfaceError):
        await connections.take()
    connections.give(held, clean=True)
    await settled(connections, 0)
    assert held.is_closed() and await server.backends() == 0


async def test_a_failed_connect_frees_its_place() -> None:
    async def refused() -> asyncpg.Connection:
        return await asyncpg.connect(host="127.0.0.1", port=free_port(), user="x", timeout=2)

    connections = Connections(refused, 1, wait=1)
    for _ in range(3):
        with pytest.raises(OSError):
            await connections.take()
        assert connections.open == 0
    await connections.close()


async def test_no_place_is_lost_under_cancellations_and_timeouts(server: Server) -> None:
    """Callers cancelled while waiting, while reading and just as they are handed a
    connection: afterwards every place can still be taken at once."""
    connections = Connections(server.connect, 2, wait=0.05)
    rng = random.Random(7)

    async def caller() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                read(connections, f"SELECT pg_backend_pid() FROM pg_sleep({rng.random() / 50})"),
                rng.random() / 20,
            )

    try:
        for _ in range(5):
            await asyncio.gather(*(caller() for _ in range(40)))
            assert connections.open <= 2
            both = [await connections.take(), await connections.take()]
            assert len({id(c) for c in both}) == 2
            for conn in both:
                connections.give(conn, clean=True)
        assert connections.open <= 2 and await server.backends() <= 2
    finally:
        await connections.close()
    assert await server.backends() == 0
