"""Concurrent reads of one key share a round trip, but never one that began before they asked.

A caller that finds no read of its key running runs one itself (nothing is added to the
uncontended path but a dictionary entry). Callers that arrive while it runs cannot use its
answer — it may have been taken before a write they already saw acknowledged — so they
queue, and when it ends one read is started for all of them together; callers arriving
during that one queue for the next, and so on. Every caller's answer therefore comes from a
read that began after it called: read-your-writes holds as if each had read alone, while at
concurrency c the database sees about one read per round trip instead of c.

A read's failure is every sharer's failure (each gets the exception, as each would have
alone); the next callers start afresh. A caller that is cancelled leaves the shared read
running for the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class _Slot(Generic[T]):
    """A key's read in progress and the future of the callers queued behind it."""

    __slots__ = ("queued",)

    def __init__(self) -> None:
        self.queued: asyncio.Future[T] | None = None


class SharedReads(Generic[K, T]):
    """`read(key)`, shared by the callers that queue behind a running read of the key."""

    def __init__(self, read: Callable[[K], Awaitable[T]]) -> None:
        self._read = read
        self._slots: dict[K, _Slot[T]] = {}
        self.reads = 0  # reads run, for tests and benchmarks: callers minus the shared ones

    async def get(self, key: K) -> T:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
            self.reads += 1
            try:
                return await self._read(key)
            finally:
                self._next(key, slot)
        if slot.queued is None:
            slot.queued = asyncio.get_running_loop().create_future()
            slot.queued.add_done_callback(_retrieved)
        return await asyncio.shield(slot.queued)

    def __len__(self) -> int:
        """Keys with a read running (0 when idle: nothing is kept)."""
        return len(self._slots)

    def _next(self, key: K, slot: _Slot[T]) -> None:
        """The key's read ended: one read for the callers queued meanwhile, or none left."""
        queued, slot.queued = slot.queued, None
        if queued is None:
            del self._slots[key]
            return
        self.reads += 1
        task = asyncio.get_running_loop().create_task(_awaited(self._read(key)))
        task.add_done_callback(partial(self._settled, key, slot, queued))

    def _settled(
        self, key: K, slot: _Slot[T], queued: asyncio.Future[T], task: asyncio.Task[T]
    ) -> None:
        if task.cancelled():
            queued.cancel()
        elif (error := task.exception()) is not None:
            queued.set_exception(error)
        else:
            queued.set_result(task.result())
        self._next(key, slot)


async def _awaited(read: Awaitable[T]) -> T:
    return await read


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a shared failure as seen, even when every caller sharing it was cancelled."""
    if not future.cancelled():
        future.exception()
