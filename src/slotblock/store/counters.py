"""Fixed-window request counters: in this process, or in Redis for a whole fleet.

A bucket counts requests in windows of `window_ms` (window n covers [n·w, (n+1)·w) of the
clock passed in). `take` is all-or-nothing over several buckets: when any bucket is at its
limit nothing is counted and the request is refused, so refused requests never use up a
later window. In Redis one Lua script does the reads and increments, so that two nodes can
never both take the last unit of a bucket.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("slotblock.counters")

Mode = Literal["take", "add", "peek"]
_IN_PROCESS_KEYS = 100_000  # distinct live buckets per process before old windows are dropped


@dataclass(frozen=True)
class Bucket:
    """A named counter and its limit per window (0: counted, never refusing)."""

    name: str
    limit: int
    window_ms: int

    @cached_property
    def limit_text(self) -> str:
        return str(self.limit)

    @cached_property
    def window_text(self) -> str:
        return str(self.window_ms)

    def key(self, now_ms: int) -> str:
        return f"{self.name}:{self.window_ms}:{now_ms // self.window_ms}"

    def reset_ms(self, now_ms: int) -> int:
        """When the current window ends."""
        return (now_ms // self.window_ms + 1) * self.window_ms


@dataclass(frozen=True)
class Tally:
    """What `take`/`add`/`peek` found: whether the request fits, and each bucket's count."""

    allowed: bool
    counts: tuple[int, ...]


class Counters(Protocol):
    async def count(self, buckets: Sequence[Bucket], now_ms: int, mode: Mode) -> Tally:
        """take: count if every bucket has room; add: count regardless; peek: only read."""
        ...

    async def close(self) -> None: ...


def _fits(buckets: Sequence[Bucket], counts: Sequence[int]) -> bool:
    return all(b.limit == 0 or c < b.limit for b, c in zip(buckets, counts, strict=True))


class InProcessCounters:
    """Counters of this process only (exact for one process; no I/O)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    async def count(self, buckets: Sequence[Bucket], now_ms: int, mode: Mode) -> Tally:
        keys = [b.key(now_ms) for b in buckets]
        counts = [self._counts.get(k, 0) for k in keys]
        allowed = _fits(buckets, counts)
        if mode == "add" or (mode == "take" and allowed):
            if len(self._counts) >= _IN_PROCESS_KEYS:
                self._counts.clear()  # windows are short: losing old ones only forgives
            counts = [c + 1 for c in counts]
            self._counts.update(zip(keys, counts, strict=True))
        return Tally(allowed, tuple(counts))

    async def close(self) -> None:
        return None


# KEYS: one per bucket; ARGV: mode, then limit and time-to-live (ms) per bucket.
_SCRIPT = """
local counts = {}
for i = 1, #KEYS do counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
local allowed = 1
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i])
  if limit > 0 and counts[i] >= limit then allowed = 0 end
end
if ARGV[1] == 'add' or (ARGV[1] == 'take' and allowed == 1) then
  for i = 1, #KEYS do
    counts[i] = redis.call('INCR', KEYS[i])
    if counts[i] == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i + 1]) end
  end
end
table.insert(counts, 1, allowed)
return counts
"""


class RedisCounters:
    """Counters in Redis, shared by every process and node that uses the same server.

    Redis unreachable: the requests are counted in this process instead (each process then
    enforces the limits on its own share of the traffic), a warning is logged at most once
    per `retry_seconds`, and Redis is tried again after that long.
    """

    def __init__(
        self,
        url: str,
        prefix: str = "slotblock:",
        retry_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = aioredis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5, retry_on_timeout=False
        )
        self.prefix = prefix
        self.retry_seconds = retry_seconds
        self.monotonic = monotonic
        self.fallback = InProcessCounters()
        self._down_until = 0.0
        self._script = self.client.register_script(_SCRIPT)

    async def count(self, buckets: Sequence[Bucket], now_ms: int, mode: Mode) -> Tally:
        if self.monotonic() < self._down_until:
            return await self.fallback.count(buckets, now_ms, mode)
        keys = [self.prefix + b.key(now_ms) for b in buckets]
        args: list[str | int] = [mode]
        for bucket in buckets:
            args += [bucket.limit, bucket.reset_ms(now_ms) - now_ms + 1000]
        try:
            result = await self._script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            self._down_until = self.monotonic() + self.retry_seconds
            log.warning(
                "Redis is unreachable (%s): counting rate limits in this process for %.0f s",
                type(exc).__name__,
                self.retry_seconds,
            )
            return await self.fallback.count(buckets, now_ms, mode)
        return Tally(bool(result[0]), tuple(int(c) for c in result[1:]))

    async def close(self) -> None:
        await self.client.aclose()


def open_counters(redis_url: str | None, prefix: str = "slotblock:") -> Counters:
    """Redis counters when a URL is given, else counters of this process."""
    if redis_url:
        return RedisCounters(redis_url, prefix)
    return InProcessCounters()
