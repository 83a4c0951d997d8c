"""The one retry loop of the writers: an optimistic write attempted again, with jittered
exponential backoff, until it lands or a deadline passes.

Writers to one block are serialised by a row lock (PostgreSQL) or by the database's write
lock (SQLite), so the compare-and-set they end with does not fail in normal operation; the
loop is the safety net for what no lock covers (a node on an older version, a failover).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from slotblock.core.errors import Conflict

T = TypeVar("T")
_FIRST_PAUSE = 0.005
_LONGEST_PAUSE = 0.25


LOST = "the block was changed concurrently; try again"


async def until_written(
    attempt: Callable[[], Awaitable[T | None]], deadline_seconds: float, lost: str = LOST
) -> T:
    """The result of the first `attempt` that does not return None (None: lost a race).

    Conflict (409, saying `lost`) when the deadline passes first."""
    give_up = time.monotonic() + deadline_seconds
    pause = _FIRST_PAUSE
    while True:
        result = await attempt()
        if result is not None:
            return result
        if time.monotonic() + pause > give_up:
            raise Conflict(lost)
        await asyncio.sleep(random.uniform(0, pause))
        pause = min(pause * 2, _LONGEST_PAUSE)
