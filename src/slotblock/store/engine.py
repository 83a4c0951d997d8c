"""Opening a database: URL normalisation, driver choice, per-connection settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from slotblock.store.integrity import reachable
from slotblock.store.sqlite_connection import loop_connector

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> sa.URL:
    """`sqlite:///path` → aiosqlite, `postgresql://…` → asyncpg; an explicit driver is kept."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ValueError(f"not a database URL: {url!r}") from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in _DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    if not driver:
        parsed = parsed.set(drivername=_DRIVERS[backend])
    return parsed


@dataclass(frozen=True)
class Timeouts:
    """How long the store waits for the database, in seconds (None: as long as the driver
    does — asyncpg 60 s to connect, SQLAlchemy 30 s for a pooled connection, no statement
    limit; SQLite 5 s for a lock). Past one, the operation fails as an outage (503).

    * `connect`: a new PostgreSQL connection, TCP and startup (asyncpg's `timeout`);
    * `statement`: one statement's answer on PostgreSQL (asyncpg's `command_timeout`, which
      also bounds the pool's pre-ping), and on SQLite the wait for a lock (busy timeout) and
      for this process's write lock;
    * `pool`: a free connection of the pool (SQLAlchemy's `pool_timeout`).
    """

    connect: float | None = None
    statement: float | None = None
    pool: float | None = None


class Store:
    """An async engine with the settings slotblock needs, and transactions on it."""

    def __init__(self, url: str, *, pool_size: int = 10, timeouts: Timeouts | None = None) -> None:
        self.url = async_url(url)
        self.timeouts = timeouts or Timeouts()
        self.engine: AsyncEngine = create_async_engine(
            ssl_argument(self.url)[0], **_engine_options(self.url, pool_size, self.timeouts)
        )
        if self.is_sqlite:
            busy_ms = round(1000 * (self.timeouts.statement or _SQLITE_BUSY_SECONDS))
            pragmas = partial(_sqlite_pragmas, busy_ms=busy_ms)
            sa.event.listen(self.engine.sync_engine, "connect", pragmas)
            sa.event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self.on_dispose: list[Callable[[], Awaitable[None]]] = []  # other connections' closers
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction: committed on success, rolled back on error.

        On SQLite the transaction takes the write lock at once (`BEGIN IMMEDIATE`), so that
        writers are serialised from their first read: a check and the write that follows
        it cannot interleave with another writer's; this process's writers queue on a lock
        first rather than back off in SQLite's busy handler (whose sleeps make the tail at
        concurrency). An unreachable database: Unavailable."""
        with reachable():
            if self._write_lock is None:
                async with self._transaction() as conn:
                    yield conn
                return
            async with self._sqlite_write_lock(), self._transaction() as conn:
                yield conn

    @asynccontextmanager
    async def _sqlite_write_lock(self) -> AsyncIterator[None]:
        """This process's SQLite write lock, waited for at most the statement timeout (as
        SQLite's busy timeout bounds the wait for another process's): TimeoutError past it."""
        assert self._write_lock is not None
        async with asyncio.timeout(self.timeouts.statement):
            await self._write_lock.acquire()
        try:
            yield
        finally:
            self._write_lock.release()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(slotblock_write=True)
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads only. An unreachable database: Unavailable."""
        with reachable():
            async with self.engine.connect() as conn:
                yield conn

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:  # noqa: BLE001 - readiness reports any failure as "not ready"
            return False
        return True

    async def dispose(self) -> None:
        for close in self.on_dispose:
            await close()
        await self.engine.dispose()


# libpq's sslmode values, as asyncpg's `ssl` argument spells them (asyncpg ignores sslmode).
_SSLMODES = {
    "disable": False,
    "allow": "allow",
    "prefer": "prefer",
    "require": "require",
    "verify-ca": "verify-ca",
    "verify-full": "verify-full",
}


def ssl_argument(url: sa.URL) -> tuple[sa.URL, dict[str, Any]]:
    """`?sslmode=…` of a PostgreSQL URL, moved into asyncpg's `ssl` connect argument."""
    mode = url.query.get("sslmode")
    if mode is None or url.get_backend_name() != "postgresql":
        return url, {}
    if not isinstance(mode, str) or mode not in _SSLMODES:
        raise ValueError(f"sslmode must be one of {', '.join(_SSLMODES)}, not {mode!r}")
    return url.difference_update_query(["sslmode"]), {"ssl": _SSLMODES[mode]}


_SQLITE_BUSY_SECONDS = 5.0


def _engine_options(url: sa.URL, pool_size: int, timeouts: Timeouts) -> dict[str, Any]:
    pool: dict[str, Any] = {} if timeouts.pool is None else {"pool_timeout": timeouts.pool}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            options = {"hide_parameters": True, **pool}
        else:
            options = {"hide_parameters": True}  # one shared connection, no pool to wait for
        if url.get_driver_name() == "aiosqlite":
            return {**options, "async_creator": loop_connector(url)}
        return options
    _, connect_args = ssl_argument(url)
    if timeouts.connect is not None:
        connect_args["timeout"] = timeouts.connect
    if timeouts.statement is not None:
        connect_args["command_timeout"] = timeouts.statement
    return {
        "hide_parameters": True,
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "pool_pre_ping": True,
        "connect_args": connect_args,
        **pool,
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_ms: int) -> None:
    # The driver's own implicit BEGIN is turned off: `_sqlite_begin` says which one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    write = conn.get_execution_options().get("slotblock_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def open_store(url: str, *, pool_size: int = 10, timeouts: Timeouts | None = None) -> Store:
    """The store for `url` (sqlite:///path or postgresql://…)."""
    return Store(url, pool_size=pool_size, timeouts=timeouts)
