"""CPU work off the event loop, a bounded number of jobs at once.

Expansion, rule checks, free slots and the encoding of large answers are pure Python: in a
worker thread they leave the event loop free between bytecodes, but every thread that runs
Python takes turns with the event loop for the one interpreter lock. The lock goes to one of
the threads waiting for it, not in their order: with four jobs running, the loop waited
about four turns of 5 ms on average and past 100 ms at its 99th percentile. So CPU jobs run
at most `SLOTBLOCK_CPU_THREADS` (1) at a time, the others queue: the loop then waits one turn
at most, and the jobs finish no later in total (one interpreter lock runs one at a time
anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio
import anyio.to_thread

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class CpuWork:
    """Runs CPU-bound functions in worker threads, `threads` at most at once."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        if self._limiter is None:  # made on the event loop that uses it
            self._limiter = anyio.CapacityLimiter(self.threads)
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)
