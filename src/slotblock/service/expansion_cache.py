"""A process-wide LRU of expanded windows, bounded by the bytes it holds.

A series' instances in a window depend only on the series' stored version and the window,
and booking pages ask for the same weeks again and again. Each entry is charged an estimate
of what it keeps alive: the events, and the block they point to (its texts, rule and
overrides) — counted once per entry, so the estimate errs high when entries share a block.
An empty answer costs its key and list like any other. Thread-safe: expansions run in
worker threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from slotblock.model import Block, Event

_ENTRY_BYTES = 600  # key tuple, list, OrderedDict node
_EVENT_BYTES = 400  # the Event object, its id string, ints and fields dict
_BLOCK_BYTES = 1_500  # the Block object and its fixed fields
_OVERRIDE_BYTES = 400


def block_bytes(block: Block) -> int:
    """An estimate (high) of the memory one block holds."""
    texts = (block.title, block.description, block.notes, block.address, block.rrule or "")
    size = _BLOCK_BYTES + sum(4 * len(t) for t in texts)
    for override in block.overrides:
        size += _OVERRIDE_BYTES + sum(4 * len(str(v)) for v in override.fields.values())
    return size


def entry_bytes(events: list[Event], block: Block) -> int:
    fields = sum(4 * len(str(v)) for e in events for v in e.fields.values())
    return _ENTRY_BYTES + len(events) * _EVENT_BYTES + fields + block_bytes(block)


class ExpansionCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[Hashable, tuple[list[Event], int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> list[Event] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, events: list[Event], block: Block) -> None:
        size = entry_bytes(events, block)
        if size > self.max_bytes:
            return  # larger than the whole cache: not kept
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (events, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                self.bytes -= self._entries.popitem(last=False)[1][1]
