"""SharedReads: callers queued behind a running read share the next one; none is answered
by a read that began before it asked; failures and cancellations stay with their read."""

from __future__ import annotations

import asyncio

import pytest

from slotblock.store.shared_reads import SharedReads

pytestmark = pytest.mark.anyio


class Counter:
    """A value that callers bump ("writes") and reads that take a while to return it."""

    def __init__(self) -> None:
        self.value = 0
        self.began: list[int] = []  # the value each read saw when it began
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None
        self.keys: list[str] = []

    async def read(self, key: str) -> int:
        seen = self.value
        self.began.append(seen)
        self.keys.append(key)
        await self.gate.wait()
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        return seen


async def test_alone_a_caller_reads_itself_and_nothing_is_kept() -> None:
    c = Counter()
    shared: SharedReads[str, int] = SharedReads(c.read)
    assert [await shared.get("a") for _ in range(3)] == [0, 0, 0]
    assert shared.reads == 3 and len(shared) == 0


async def test_callers_behind_a_running_read_share_the_next_one() -> None:
    c = Counter()
    c.gate.clear()
    shared: SharedReads[str, int] = SharedReads(c.read)
    first = asyncio.create_task(shared.get("a"))
    await asyncio.sleep(0)  # the first read began, with value 0
    c.value = 1  # a write acknowledged before the next callers ask
    rest = [asyncio.create_task(shared.get("a")) for _ in range(20)]
    other = asyncio.create_task(shared.get("b"))  # another key reads apart
    await asyncio.sleep(0)
    c.gate.set()
    assert await first == 0
    assert await asyncio.gather(*rest) == [1] * 20  # never the older read's 0
    assert await other == 1
    assert shared.reads == 3 and c.began == [0, 1, 1] and sorted(c.keys) == ["a", "a", "b"]
    assert len(shared) == 0


async def test_a_failure_is_each_sharers_and_the_next_callers_start_afresh() -> None:
    c = Counter()
    c.gate.clear()
    shared: SharedReads[str, int] = SharedReads(c.read)
    first = asyncio.create_task(shared.get("a"))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(shared.get("a")) for _ in range(3)]
    await asyncio.sleep(0)
    c.fail = ConnectionError("gone")
    c.gate.set()
    for task in (first, *queued):
        with pytest.raises(ConnectionError, match="gone"):
            await task
    c.fail = None
    assert await shared.get("a") == 0 and len(shared) == 0


async def test_a_cancelled_caller_leaves_the_read_to_the_others() -> None:
    c = Counter()
    c.gate.clear()
    shared: SharedReads[str, int] = SharedReads(c.read)
    first = asyncio.create_task(shared.get("a"))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(shared.get("a")) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()  # the running read's own caller: its read ends, the queued one runs
    queued[0].cancel()  # a sharer: the shared read goes on for the two others
    c.value = 5
    c.gate.set()
    assert await asyncio.gather(*queued[1:]) == [5, 5]
    for task in (first, queued[0]):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(shared) == 0
