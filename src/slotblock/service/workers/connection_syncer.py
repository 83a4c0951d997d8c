"""The connected calendars' syncer: every SLOTBLOCK_CONNECTION_SYNC_SECONDS, each
connection is read and its blocks brought up to date (service/connection_sync.py).

It runs inside `serve` (one per process; off with SLOTBLOCK_CONNECTION_SYNC=false). A due
connection is claimed under a lease (store.connections.claim_due: `FOR UPDATE SKIP
LOCKED` on PostgreSQL), so one connection is synced by one node at a time across a fleet;
on SQLite one syncer per database file runs (a lock file next to it). Connections are
synced concurrently, each within its own timeout: a slow or failing calendar delays no
other, and the API never waits for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from pathlib import Path
from typing import IO

from slotblock.core.errors import Unavailable
from slotblock.service.clock import StoredClock
from slotblock.service.connection_sync import ConnectionSync
from slotblock.store import connections as connection_store

log = logging.getLogger("slotblock.connections")
POLL_SECONDS = 5.0  # how often an idle syncer looks for due connections
BATCH = 10  # connections claimed at once


class ConnectionSyncer:
    def __init__(
        self, sync: ConnectionSync, poll_seconds: float = POLL_SECONDS, batch: int = BATCH
    ) -> None:
        self.sync = sync
        self.store = sync.store
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock: IO[bytes] | None = None

    async def run_once(self) -> int:
        """Claim the due connections and sync them, concurrently; how many were synced."""
        clock = self.sync.clock
        if isinstance(clock, StoredClock):
            await clock.refresh()
        if not self._may_sync():
            return 0
        async with self.store.begin() as conn:
            due = await connection_store.claim_due(conn, clock(), self.sync.lease_ms, self.batch)
        await asyncio.gather(*(self.sync.sync(c) for c in due))
        return len(due)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slotblock-connection-syncer")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        await self.sync.aclose()
        if self._lock is not None:
            self._lock.close()

    async def _run(self) -> None:
        while not self._stop.is_set():
            busy = 0
            try:
                busy = await self.run_once()
            except Unavailable as exc:
                log.warning("connection syncer paused: %s", exc)
            except Exception:  # a bug: log it, and keep going
                log.exception("connection syncer round failed")
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.poll_seconds)

    def _may_sync(self) -> bool:
        """On SQLite, whether this process holds the database file's syncer lock."""
        if not self.store.is_sqlite or self._lock is not None:
            return True
        database = self.store.url.database
        if not database or database == ":memory:":
            return True
        handle = Path(f"{database}.connections.lock").open("ab")  # noqa: SIM115 - held open
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock = handle
        return True
