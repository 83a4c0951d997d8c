"""The window query on the database driver itself: sqlite3, or asyncpg's prepared statements.

The SQL is the same statement as `blocks.blocks_in_window`'s (its target filter built by
`store/targets.py`, compiled once per filter shape and dialect); only the path to the
database is shorter. Each read is one
statement in autocommit: no pool pre-ping, no BEGIN, no ROLLBACK, no SQLAlchemy row
processing.

- SQLite: one connection of the standard `sqlite3` module, used from the event loop (the
  statement runs in tens of microseconds, less than a hop to a thread would cost). It also
  answers `data_version`: SQLite changes it whenever another connection, of this process or
  any other, commits (https://sqlite.org/pragma.html#pragma_data_version).
- PostgreSQL: up to `SLOTBLOCK_POOL_SIZE` asyncpg connections of this reader's own
  (`store/pg_connections.py`), beside the engine's pool and overflow, lent from a free list:
  they keep their prepared statements and are not reset between reads (reads change no
  session state). SQLAlchemy's checkout would add a ping and a reset round trip to every
  read, and asyncpg's pool a task per release.

Failures are the store's: every driver call runs inside `integrity.reachable()`, so an
outage is `Unavailable` (503 with the configured Retry-After), as in `Store.read()`. A
connection the server dropped (a restart, a failover, `pg_terminate_backend`) is replaced
and the statement run once more, as the engine's pre-ping replaces a dead connection at
checkout: the pool's other connections are expired too (they went with the same server).
A statement that fails on a fresh connection as well is an outage.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from slotblock.core.bounded_cache import BoundedCache, text_bytes
from slotblock.core.errors import Unavailable
from slotblock.core.model import TEXT_FIELDS, Block, Override, Targets
from slotblock.store.blocks import _COLUMNS, _READ, _window_params, _window_statement
from slotblock.store.engine import Store, Timeouts, ssl_argument
from slotblock.store.integrity import UNAVAILABLE, driver_outage, reachable
from slotblock.store.pg_connections import Connections
from slotblock.store.shared_reads import SharedReads
from slotblock.store.tables import blocks, calendars, data_versions

_NAMES = [column.name for column in _COLUMNS]
_AT = {name: _NAMES.index(name) for name in _READ}
_OVERRIDES = _NAMES.index("overrides")
_TEXTS = tuple(_NAMES.index(name) for name in (*TEXT_FIELDS, "rrule"))
_SQLITE_VERSION = "PRAGMA data_version"
_POSTGRES_VERSION = "SELECT version FROM data_versions WHERE location_id = $1"
_SQLITE = sqlite.dialect(paramstyle="named")
_POSTGRES = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]


_KEY_COLUMNS = (blocks.c.location_id, blocks.c.id, blocks.c.version, calendars.c.group_id)


@lru_cache(maxsize=32)
def _sql(
    backend: str, shape: tuple[bool, bool, bool], keys_only: bool = False
) -> tuple[str, tuple[str, ...]]:
    """The SQL text of the window statement (or of the same statement selecting only the
    blocks' keys) and the order of its positional parameters."""
    statement: Any = _window_statement(shape)
    if keys_only:
        statement = _keys(statement)
    compiled = statement.compile(dialect=_SQLITE if backend == "sqlite" else _POSTGRES)
    return str(compiled), tuple(compiled.positiontup or ())


def _keys(statement: Any) -> sa.CompoundSelect[Any]:
    return sa.union_all(*(part.with_only_columns(*_KEY_COLUMNS) for part in statement.selects))


@lru_cache(maxsize=8)
def _versioned_keys_sql(shape: tuple[bool, bool, bool]) -> tuple[str, tuple[str, ...]]:
    """PostgreSQL: the location's data version and the window's keys in one statement (one
    round trip, one snapshot). Always one row at least: with no block, its keys are NULL."""
    version = (
        sa.select(data_versions.c.version)
        .where(data_versions.c.location_id == sa.bindparam("location_id"))
        .scalar_subquery()
    )
    head = sa.select(version.label("data_version")).subquery("v")
    keys = _keys(_window_statement(shape)).subquery("k")
    statement = sa.select(head.c.data_version, *keys.c).select_from(head.outerjoin(keys, sa.true()))
    compiled = statement.compile(dialect=_POSTGRES)
    return str(compiled), tuple(compiled.positiontup or ())


Keys = Sequence[Sequence[Any]]  # (location id, block id, version, joined group id) per block
_KEY = tuple(_NAMES.index(name) for name in ("location_id", "id", "version", "group_id"))
# A Block and its key in the cache, measured (sys.getsizeof, deep): about 1,070 bytes
# beside its texts; each parsed override about 400 beside its fields' JSON.
BLOCK_BYTES = 1_100
OVERRIDE_BYTES = 400


def _block(row: Sequence[Any]) -> Block:
    raw = row[_OVERRIDES]
    items = json.loads(raw) if isinstance(raw, str) else raw
    return Block(
        **{name: row[at] for name, at in _AT.items()},
        overrides=tuple(
            Override(
                original_start_ms=i["o"], start_ms=i["s"], end_ms=i["e"], fields=i.get("f", {})
            )
            for i in items
        ),
    )


class WindowReader:
    """`blocks_in_window` over a connection of the driver; opened on first use."""

    def __init__(
        self,
        url: sa.URL,
        pool_size: int,
        block_cache_bytes: int = 0,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.url = url
        self.pool_size = pool_size
        # the store's own waits (connect, statement, pool): a database that stops answering
        # fails these reads as it fails the store's, as an outage
        self.timeouts = timeouts or Timeouts()
        # (location, id, version, joined group) names one content: its Block is built once
        self.blocks: BoundedCache[Block] = BoundedCache(block_cache_bytes)
        self._sqlite: sqlite3.Connection | None = None
        self._connections: Connections | None = None
        # PostgreSQL: a location's version reads at once share a round trip (each a read
        # that began after its caller asked: store/shared_reads.py)
        self.versions: SharedReads[str, int] = SharedReads(self._postgres_version)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    async def blocks_in_window(
        self,
        location_id: str,
        start_ms: int,
        end_ms: int,
        targets: Targets,
        keys: Keys | None = None,
    ) -> list[Block]:
        """The blocks of the window statement. With the block cache on, the statement first
        selects only the blocks' keys (or takes `keys`, read by `version_and_keys`): when
        every key's block is cached (the usual case), that is the answer, without reading
        any block's texts."""
        _, params = _window_params(location_id, start_ms, end_ms, targets)
        if self.blocks.max_bytes:
            if keys is None:
                keys = await self._rows(targets.shape, params, keys_only=True)
            found = [self.blocks.get(tuple(key)) for key in keys]
            if None not in found:
                return found  # type: ignore[return-value]
        rows = await self._rows(targets.shape, params, keys_only=False)
        return [self._cached_block(row) for row in rows]

    async def version_and_keys(
        self, location_id: str, start_ms: int, end_ms: int, targets: Targets
    ) -> tuple[int, Keys | None]:
        """The location's data version (see `data_version`) and, with the block cache on,
        the keys of the window's blocks, for `blocks_in_window(keys=…)`. The version is read
        first (SQLite) or in the same statement, from the same snapshot (PostgreSQL: one
        round trip for both)."""
        if not self.blocks.max_bytes:
            return await self.data_version(location_id), None
        if self.is_sqlite:
            version = await self.data_version(location_id)
            _, params = _window_params(location_id, start_ms, end_ms, targets)
            return version, await self._rows(targets.shape, params, keys_only=True)
        _, params = _window_params(location_id, start_ms, end_ms, targets)
        sql, order = _versioned_keys_sql(targets.shape)
        rows = await self._fetch(sql, [params[n] for n in order])
        keys = [tuple(row[1:]) for row in rows if row[2] is not None]
        return rows[0][0] or 0, keys

    async def _rows(
        self, shape: tuple[bool, bool, bool], params: dict[str, Any], *, keys_only: bool
    ) -> Sequence[Sequence[Any]]:
        if self.is_sqlite:
            sql, _ = _sql("sqlite", shape, keys_only)
            return self._on_sqlite(sql, params)
        sql, order = _sql("postgresql", shape, keys_only)
        return await self._fetch(sql, [params[n] for n in order])

    def _cached_block(self, row: Sequence[Any]) -> Block:
        if not self.blocks.max_bytes:
            return _block(row)
        key = tuple(row[at] for at in _KEY)
        block = self.blocks.get(key)
        if block is None:
            block = _block(row)
            size = BLOCK_BYTES + sum(text_bytes(row[at] or "") for at in _TEXTS)
            size += OVERRIDE_BYTES * len(block.overrides) + text_bytes(str(row[_OVERRIDES]))
            self.blocks.put(key, block, size)
        return block

    async def data_version(self, location_id: str) -> int:
        """A number that changes whenever data the location's answers depend on may have
        changed, whichever node wrote it: SQLite's `PRAGMA data_version` on this reader's
        connection (which never writes), PostgreSQL's `data_versions` row (bumped by triggers)."""
        if self.is_sqlite:
            found: int = self._on_sqlite(_SQLITE_VERSION, {})[0][0]
            return found
        return await self.versions.get(location_id)

    async def _postgres_version(self, location_id: str) -> int:
        rows = await self._fetch(_POSTGRES_VERSION, [location_id])
        return rows[0][0] if rows else 0

    def _on_sqlite(self, sql: str, params: dict[str, Any]) -> list[Any]:
        with reachable():
            return self._sqlite_connection().execute(sql, params).fetchall()

    async def _fetch(self, sql: str, args: list[Any]) -> Sequence[Sequence[Any]]:
        """The rows of one statement on one of the reader's connections: a dropped one is
        replaced and the statement run once more; an outage is Unavailable."""
        with reachable():
            try:
                return await self._fetch_once(sql, args)
            except _Dropped:
                pass
            if self._connections is not None:
                self._connections.expire()
            try:
                return await self._fetch_once(sql, args)
            except _Dropped as again:
                raise Unavailable(UNAVAILABLE) from again.__cause__

    async def _fetch_once(self, sql: str, args: list[Any]) -> Sequence[Sequence[Any]]:
        connections = self._postgres_connections()
        conn = await connections.take()
        clean = False
        try:
            rows: Sequence[Sequence[Any]] = await conn.fetch(sql, *args)
            clean = True
        except asyncpg.PostgresError as exc:
            clean = not _closed(conn)  # the server's error, and the connection idle again
            if not clean or driver_outage(exc):
                raise _Dropped from exc
            raise
        except Exception as exc:
            if driver_outage(exc) or _confused(exc) or _closed(conn):
                raise _Dropped from exc
            raise
        finally:
            connections.give(conn, clean)
        return rows

    async def fetch_row(self, sql: str) -> Sequence[Any] | None:
        """The first row of a read-only statement without parameters (written for both
        backends), on this reader's connection: one round trip, nothing else."""
        if self.is_sqlite:
            row: Sequence[Any] | None = self._sqlite_connection().execute(sql).fetchone()
            return row
        rows = await self._fetch(sql, [])
        return rows[0] if rows else None

    async def mapped_rows(
        self, compiled: Callable[[bool], tuple[str, tuple[str, ...]]], params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The rows, by column name, of a read-only statement that `compiled(is_sqlite)`
        gives as SQL and the order of its positional parameters, on this reader's
        connection: one statement, in autocommit, failures as the window query's."""
        sql, order = compiled(self.is_sqlite)
        if self.is_sqlite:
            with reachable():
                cursor = self._sqlite_connection().execute(sql, params)
                names = [column[0] for column in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        rows = await self._fetch(sql, [params[name] for name in order])
        return [dict(row) for row in rows]

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            conn = sqlite3.connect(
                self.url.database or "", isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA query_only=ON")
            busy_ms = round(1000 * (self.timeouts.statement or 5.0))
            conn.execute(f"PRAGMA busy_timeout={busy_ms}")
            self._sqlite = conn
        return self._sqlite

    def _postgres_connections(self) -> Connections:
        if self._connections is None:
            url, ssl = ssl_argument(self.url)
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            waits: dict[str, float] = {}
            if self.timeouts.connect is not None:
                waits["timeout"] = self.timeouts.connect
            if self.timeouts.statement is not None:
                waits["command_timeout"] = self.timeouts.statement

            async def connect() -> asyncpg.Connection:
                return await asyncpg.connect(dsn, **ssl, **waits)

            self._connections = Connections(
                connect,
                self.pool_size,
                wait=self.timeouts.pool,
                retire_seconds=self.timeouts.statement or 5.0,
            )
        return self._connections

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._connections is not None:
            await self._connections.close()
            self._connections = None


class _Dropped(Exception):
    """The connection failed under a statement (its cause says how): try another."""


def _confused(exc: Exception) -> bool:
    """asyncpg's state error when the server's goodbye (57P01) arrived on an idle
    connection before the next statement: that connection is going, not the statement."""
    return isinstance(exc, asyncpg.exceptions.InternalClientError)


def _closed(conn: Any) -> bool:
    """Whether the pool's connection is closed (one closed under a statement is already
    back in the pool, and says so by refusing the question)."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:
        return True


def window_reader(store: Store, pool_size: int, block_cache_bytes: int) -> WindowReader | None:
    """A reader over the store's database, closed with the store; None for an in-memory
    SQLite database (no other connection can see it)."""
    if store.is_sqlite and store.url.database in (None, "", ":memory:"):
        return None
    reader = WindowReader(store.url, pool_size, block_cache_bytes, store.timeouts)
    store.on_dispose.append(reader.close)
    return reader
