"""PURE: a least-recently-used map bounded by the bytes its values are said to take.

Each `put` names the size of its entry (the caller knows how to estimate it); the oldest
entries go until the total fits. A bound of 0 keeps nothing. Hits, misses, evictions and
bytes are counted for the metrics.

Safe from several threads: worker threads (series expansion) and the event loop use the same
caches, so every read-modify-write of the map and its counters holds one lock. The lock is
held for a few dictionary operations, never while a value is computed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class CacheStats:
    """One consistent reading of a cache's counters."""

    hits: int
    misses: int
    evictions: int
    bytes: int
    entries: int


def exact(data: bytes) -> bytes:
    """A copy of `data` that takes its length: orjson returns bytes in the buffer it grew
    (4 KiB at least, up to twice the length), so a kept encoding would hold that buffer."""
    return memoryview(data).tobytes()


def text_bytes(text: str) -> int:
    """The memory of a str's characters, high: one byte each when all are ASCII, else four
    (CPython stores 1, 2 or 4 bytes a character; `isascii` costs nothing)."""
    return len(text) if text.isascii() else 4 * len(text)


class BoundedCache(Generic[V]):
    """LRU keyed by any hashable, at most `max_bytes` of entries (as estimated by `put`)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self.hits += 1
            self._entries.move_to_end(key)
            return found[0]

    def get_many(self, keys: list[Hashable]) -> list[V | None]:
        """`[get(k) for k in keys]` under one hold of the lock (a window's many entries)."""
        out: list[V | None] = []
        with self._lock:
            entries = self._entries
            for key in keys:
                found = entries.get(key)
                if found is None:
                    out.append(None)
                    continue
                entries.move_to_end(key)
                out.append(found[0])
            hits = len(keys) - out.count(None)
            self.hits += hits
            self.misses += len(keys) - hits
        return out

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Keep `value` unless it alone is larger than the bound."""
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                self.bytes -= self._entries.popitem(last=False)[1][1]
                self.evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                self.hits, self.misses, self.evictions, self.bytes, len(self._entries)
            )

    def entry_bytes(self) -> int:
        """The sum of the entries' sizes, counted now (`bytes` must always equal it)."""
        with self._lock:
            return sum(size for _, size in self._entries.values())
