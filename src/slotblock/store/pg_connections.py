"""Up to `size` open asyncpg connections for one-statement reads, lent from a free list.

The window reader's statements are single reads in autocommit that leave no session state,
so a connection needs no reset between uses, and lending one is a list `pop` and giving it
back an `append`. asyncpg's `Pool` does more on every use — its release runs in a task of
its own under `asyncio.shield` and a timeout scope — which measured 35–45 µs a read on this
project's machines, more than the statement's round trip (`python -m bench.pg_reads`).

What the pool gave and this keeps:

* at most `size` connections, opened on demand; a caller that finds none free and `size`
  open waits (first come, first served) up to `wait` seconds, then `TimeoutError`;
* a connection whose statement did not finish cleanly (cancelled, timed out, its socket
  lost, closed by the server) is not lent again: it is closed in the background — its
  statement's cancellation delivered to the server first, as asyncpg's own close does, so
  that no backend keeps running a statement nobody waits for — within `retire_seconds`,
  and cut after that; its place is taken until then, so that the server never sees more
  than `size` of these connections;
* `expire()` ends every connection opened so far (the idle at once, the lent when given
  back): what a server restart or failover calls for;
* `close()` closes the idle ones, the lent ones when they come back, and waits for the ones
  being closed; a caller still waiting is failed with `asyncpg.InterfaceError`, as
  asyncpg's closed pool fails.

* a connection left idle for `idle_seconds` (300, asyncpg's default) is closed rather than
  lent: a firewall or NAT that forgets an idle connection silently would otherwise leave
  the next statement on it waiting out the statement timeout.

Not kept: asyncpg's recycling of a connection after 50,000 statements. A connection that a
server or a middlebox dropped within the idle time is met as a dropped connection by the
reader, which expires the set and reads again.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg


class Connections:
    def __init__(
        self,
        connect: Callable[[], Coroutine[Any, Any, asyncpg.Connection]],
        size: int,
        wait: float | None,
        retire_seconds: float = 5.0,
        idle_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self.wait = wait
        self.retire_seconds = retire_seconds
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._retiring: set[asyncio.Task[None]] = set()
        self._pending: set[asyncio.Task[asyncpg.Connection]] = set()  # being opened
        self._connect = connect
        self._free: list[tuple[asyncpg.Connection, float]] = []  # idle since, oldest first
        self._places = 0  # connections open or being opened: at most `size`
        self._waiting: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._generation: dict[asyncpg.Connection, int] = {}
        self._current = 0
        self._closed = False

    @property
    def open(self) -> int:
        """Connections open or being opened."""
        return self._places

    async def take(self) -> asyncpg.Connection:
        """A connection of the set, for one statement: give it back with `give`."""
        if self._closed:
            raise asyncpg.InterfaceError("the connections are closed")
        if self._free:
            stale = self._clock() - self.idle_seconds
            while self._free and self._free[0][1] < stale:
                self._end_idle(self._free.pop(0)[0])
        while self._free:
            conn = self._free.pop()[0]
            if not conn.is_closed():
                return conn
            self._drop(conn)
        if self._places < self.size:
            return await self._open_one()
        got = await self._wait_turn()
        return got if got is not None else await self._open_one()

    def give(self, conn: asyncpg.Connection, clean: bool) -> None:
        """Take `conn` back; `clean` says its statement finished (with rows or with the
        server's error) and the connection is idle: anything else ends it."""
        expired = self._generation.get(conn) != self._current
        if not clean or expired or self._closed or conn.is_closed():
            self._drop(conn)
        else:
            while self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.done():
                    waiter.set_result(conn)
                    return
            self._free.append((conn, self._clock()))

    def expire(self) -> None:
        """End every connection opened so far: the idle now, the lent when given back."""
        self._current += 1
        idle, self._free = self._free, []
        for conn, _ in idle:
            self._drop(conn)

    async def close(self) -> None:
        self._closed = True
        self._current += 1
        idle, self._free = self._free, []
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(asyncpg.InterfaceError("the connections are closed"))
        for conn, _ in idle:
            self._drop(conn)
        while busy := {task for task in self._retiring | self._pending if not task.done()}:
            await asyncio.wait(busy)

    async def _open_one(self) -> asyncpg.Connection:
        """A new connection, opened in a task of its own: a caller cancelled meanwhile
        leaves it to open for the next caller (asyncpg's connect, cancelled halfway, would
        leave a failed future behind)."""
        self._places += 1
        opening: asyncio.Task[asyncpg.Connection]
        opening = asyncio.get_running_loop().create_task(self._connect())
        self._pending.add(opening)
        try:
            conn = await asyncio.shield(opening)
        except asyncio.CancelledError:
            if not opening.done() or opening.cancelled():
                opening.add_done_callback(self._opened_for_nobody)
                raise
            self._pending.discard(opening)
            if opening.exception() is None:
                self._adopt(opening.result())
            else:
                self._places -= 1
                self._vacated()
            raise
        except BaseException:
            self._pending.discard(opening)
            self._places -= 1
            self._vacated()
            raise
        self._pending.discard(opening)
        if self._closed:
            self._drop(conn)
            raise asyncpg.InterfaceError("the connections are closed")
        self._generation[conn] = self._current
        return conn

    def _opened_for_nobody(self, opening: asyncio.Task[asyncpg.Connection]) -> None:
        self._pending.discard(opening)
        if opening.cancelled() or opening.exception() is not None:
            self._places -= 1
            self._vacated()
        else:
            self._adopt(opening.result())

    def _adopt(self, conn: asyncpg.Connection) -> None:
        """A connection opened for a caller that is gone: the next caller's."""
        self._generation[conn] = self._current
        self.give(conn, clean=True)

    async def _wait_turn(self) -> asyncpg.Connection | None:
        """A connection handed over by `give`, or None: a place came free, open one."""
        waiter: asyncio.Future[asyncpg.Connection | None]
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(self.wait):
                return await waiter
        except BaseException:
            # Handed over just as the wait ended: pass it on, not lose it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()
                if handed is None:
                    self._vacated()
                else:
                    self.give(handed, clean=True)
            else:
                waiter.cancel()
            raise

    def _end_idle(self, conn: asyncpg.Connection) -> None:
        """End an idle connection at once (no statement of its own runs: nothing to cancel,
        and a peer that a middlebox forgot would not answer a goodbye)."""
        self._generation.pop(conn, None)
        conn.terminate()
        self._places -= 1
        self._vacated()

    def _drop(self, conn: asyncpg.Connection) -> None:
        """End `conn`; its place is free once it is closed."""
        self._generation.pop(conn, None)
        if conn.is_closed():
            conn.terminate()  # asyncpg's cleanup of a connection the server or socket ended
            self._places -= 1
            self._vacated()
            return
        task = asyncio.get_running_loop().create_task(self._retire(conn))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire(self, conn: asyncpg.Connection) -> None:
        try:
            await conn.close(timeout=self.retire_seconds)
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - asyncpg cut it: clean up
            conn.terminate()
        finally:
            self._places -= 1
            self._vacated()

    def _vacated(self) -> None:
        """A place came free: the first caller still waiting opens a connection in it."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
