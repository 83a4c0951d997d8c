"""Opening a database: URL normalisation, driver choice, per-connection settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
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


class Store:
    """An async engine with the settings slotblock needs, and transactions on it."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.engine: AsyncEngine = create_async_engine(
            ssl_argument(self.url)[0], **_engine_options(self.url, pool_size)
        )
        if self.is_sqlite:
            sa.event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
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
            async with self._write_lock, self._transaction() as conn:
                yield conn

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


def _engine_options(url: sa.URL, pool_size: int) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        if url.get_driver_name() == "aiosqlite":
            return {"hide_parameters": True, "async_creator": loop_connector(url)}
        return {"hide_parameters": True}
    _, connect_args = ssl_argument(url)
    return {
        "hide_parameters": True,
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "pool_pre_ping": True,
        "connect_args": connect_args,
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN is turned off: `_sqlite_begin` says which one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    write = conn.get_execution_options().get("slotblock_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def open_store(url: str, *, pool_size: int = 10) -> Store:
    """The store for `url` (sqlite:///path or postgresql://…)."""
    return Store(url, pool_size=pool_size)
