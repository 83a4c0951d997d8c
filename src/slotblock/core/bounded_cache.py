"""PURE: a least-recently-used map bounded by the bytes its values are said to take.

Each `put` names the size of its entry (the caller knows how to estimate it); the oldest
entries go until the total fits. A bound of 0 keeps nothing. Each cache counts its hits,
misses and bytes; /metrics exports every cache's bytes, and the hits and misses of the
expansion cache only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedCache(Generic[V]):
    """LRU keyed by any hashable, at most `max_bytes` of entries (as estimated by `put`)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        # Another thread may have dropped it meanwhile: it was found all the same.
        # (Not contextlib.suppress: this is the hot path, where `try` costs nothing.)
        try:  # noqa: SIM105
            self._entries.move_to_end(key)
        except KeyError:
            pass
        return found[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Keep `value` unless it alone is larger than the bound."""
        if size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._entries[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            self.bytes -= self._entries.popitem(last=False)[1][1]

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
