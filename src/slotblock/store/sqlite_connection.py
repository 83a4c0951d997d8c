"""SQLite connections for the engine: aiosqlite's, with the short steps run on the event loop.

aiosqlite runs every call — `cursor()`, `execute`, `fetchall`, a cursor's `close` — in the
connection's own thread, and each is a round trip between two threads: a one-row insert is
four of them, and on a loaded machine a hop costs more than the statement (a create, eight
statements, spent most of its time waiting for hops). Most of those steps take microseconds
and can wait for nothing: in WAL mode readers never wait for writers, and a writer that has
its `BEGIN IMMEDIATE` holds the write lock until it ends.

So this connection runs them on the event loop, and keeps in aiosqlite's thread the steps
that can wait or do disk I/O: `COMMIT` (it may run a checkpoint, with its fsyncs),
`executemany` and `executescript` (bulk loads and migrations), and opening and closing.
A deferred `BEGIN` takes no lock and runs on the loop. A `BEGIN IMMEDIATE` may wait, up to
the busy timeout, for another process's write lock: it is tried on the loop with the busy
timeout at 0 (taken at once, or refused at once), and only when another process holds the
lock does it wait in the thread, with the connection's own timeout. One connection is used
by one coroutine at a time (the pool hands it out), so its two threads never meet.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect

_IN_THREAD = frozenset({"commit", "executemany", "executescript", "backup"})
_SQLITE_BUSY = 5  # the primary result code of "database is locked"


def _may_wait(fn: Callable[..., Any]) -> bool:
    name = getattr(fn, "__name__", "")
    if name == "close":  # a cursor's close is short; the connection's ends its thread
        return not isinstance(getattr(fn, "__self__", None), sqlite3.Cursor)
    return name in _IN_THREAD


def _begins_immediate(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    if getattr(fn, "__name__", "") != "execute" or not args or not isinstance(args[0], str):
        return False
    words = args[0].split(None, 2)
    return len(words) > 1 and words[0].upper() == "BEGIN" and words[1].upper() == "IMMEDIATE"


class LoopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose short, non-waiting calls run on the event loop."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if _may_wait(fn):
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if _begins_immediate(fn, args):
            try:
                return self._without_waiting(fn, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != _SQLITE_BUSY:
                    raise
            # another process holds the write lock: wait for it in the thread
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        return fn(*args, **kwargs)

    def _without_waiting(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(...)` with the busy timeout at 0 (SQLITE_BUSY at once), then as it was."""
        raw = self._connection
        assert raw is not None  # checked open by the caller
        (waits,) = raw.execute("PRAGMA busy_timeout").fetchone()
        raw.execute("PRAGMA busy_timeout=0")
        try:
            return fn(*args, **kwargs)
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(waits)}")


def loop_connector(url: sa.URL) -> Callable[[], LoopConnection]:
    """An `async_creator` for the engine: the connection SQLAlchemy's aiosqlite dialect
    would open for `url` (same arguments), usable from the event loop's thread."""
    args, kwargs = aiosqlite_dialect().create_connect_args(url)
    kwargs = {**kwargs, "check_same_thread": False}
    connector = partial(sqlite3.connect, *args, **kwargs)

    def connect() -> LoopConnection:
        connection = LoopConnection(connector, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy sets aiosqlite's own
        return connection

    return connect
