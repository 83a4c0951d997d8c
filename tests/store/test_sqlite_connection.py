"""SQLite connections run their short steps on the event loop, and what can wait in a thread:
a writer waiting for another process's write lock leaves the loop free (its `BEGIN
IMMEDIATE`, refused at once on the loop, waits in the thread with the busy timeout)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from slotblock.store import Store, open_store
from slotblock.store.sqlite_connection import LoopConnection

pytestmark = pytest.mark.anyio


async def test_statements_and_an_uncontended_begin_on_the_loop_commit_in_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    ran: list[tuple[str, bool]] = []  # (call, on the loop's thread)
    original = LoopConnection._execute

    def noted(fn: Callable[..., Any], sql: str) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            ran.append((sql or fn.__name__, threading.get_ident() == loop_thread))
            return fn(*args, **kwargs)

        run.__name__ = fn.__name__  # the connection decides by the name
        return run

    async def spied(self: LoopConnection, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        sql = args[0].split()[0].upper() if args and isinstance(args[0], str) else ""
        return await original(self, noted(fn, sql), *args, **kw)

    monkeypatch.setattr(LoopConnection, "_execute", spied)
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}", pool_size=1)
    try:
        async with store.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            assert (await conn.execute(sa.text("SELECT x FROM t"))).scalar_one() == 1
    finally:
        await store.dispose()
    where = dict(ran)
    assert where["commit"] is False  # in aiosqlite's thread
    assert where["BEGIN"] is True  # nobody else held the write lock: taken at once
    assert where["INSERT"] is True and where["SELECT"] is True  # on the loop
    assert where["fetchall"] is True


async def test_a_writer_waiting_for_the_lock_leaves_the_loop_free(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    store = open_store(f"sqlite:///{path}", pool_size=1)
    try:
        async with store.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process's writer, holding the lock

        async def write() -> None:
            async with store.begin() as conn:
                await conn.execute(sa.text("INSERT INTO t VALUES (2)"))

        busy_before = await _busy_timeout(store)
        writer = asyncio.create_task(write())
        ticks, began = 0, time.perf_counter()
        while time.perf_counter() - began < 0.5:  # the writer waits; the loop goes on
            await asyncio.sleep(0.01)
            ticks += 1
        assert not writer.done()
        assert ticks > 20, ticks
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(writer, 10)
        async with store.read() as conn:
            assert (await conn.execute(sa.text("SELECT x FROM t"))).scalar_one() == 2
        assert busy_before > 1_000 and await _busy_timeout(store) == busy_before  # restored
    finally:
        await store.dispose()


async def _busy_timeout(store: Store) -> int:
    async with store.read() as conn:
        found: int = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
        return found


async def test_a_begin_refused_for_another_reason_is_that_error(tmp_path: Path) -> None:
    """Only SQLITE_BUSY sends a BEGIN IMMEDIATE to wait in the thread: any other error is
    raised as it is (here: a transaction already open on the connection)."""
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}", pool_size=1)
    try:
        async with store.begin() as conn:
            with pytest.raises(sa.exc.OperationalError, match="within a transaction"):
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
    except sa.exc.OperationalError:
        pass  # the transaction is unusable after; its rollback may say so too
    finally:
        await store.dispose()
