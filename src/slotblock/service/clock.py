"""The one "now" of the service: real time, or the time a test set (core/clock.py).

Every service takes `clock: Callable[[], int]` (epoch ms); `create_app` gives them all one
`StoredClock`. Calling it does no I/O: it computes the time from the setting this process
last adopted. The setting is stored with the data (the `clock` table), so that every worker
and node of one database tells the same time. How a change reaches every process:

- While the admin API is on, the control plane reads the stored setting before each request
  it observes (one single-row read, together with the fault rules' stamp) and adopts it: a
  change made through any node is seen by the next request on every node, without delay.
  The admin clock routes, fixture loads and the webhook dispatcher's rounds read it too.
- While the admin API is off, nothing is read and the clock is real time, whatever a fixture
  or `slotblock clock` stored: a production node never pays for the clock, on the hot path
  or anywhere else, and never follows a setting left in its database.

Rate-limit windows, token-cache lifetimes, timeouts and the request log's times are real
time; they do not take this clock.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from slotblock.core.clock import ClockSetting, changed
from slotblock.store import Store
from slotblock.store import clock as clock_store


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


async def _never() -> bool:
    return False


class StoredClock:
    """Callable as `clock()`; `applies` says whether the stored setting is followed (the
    control plane sets it to "the admin API is on")."""

    def __init__(self, store: Store, real: Callable[[], int] = wall_clock_ms) -> None:
        self.store = store
        self.real = real
        self.setting: ClockSetting | None = None
        self.applies: Callable[[], Awaitable[bool]] = _never

    def __call__(self) -> int:
        setting = self.setting
        real = self.real()
        return real if setting is None else setting.at(real)

    def adopt(self, setting: ClockSetting | None) -> None:
        self.setting = setting

    async def refresh(self) -> None:
        """Adopt the stored setting if it applies; real time otherwise."""
        if not await self.applies():
            self.setting = None
            return
        async with self.store.read() as conn:
            self.setting = await clock_store.read_setting(conn)

    async def change(
        self,
        *,
        now_ms: int | None = None,
        advance_ms: int | None = None,
        freeze: bool | None = None,
    ) -> ClockSetting:
        """Set, advance, freeze or unfreeze the stored clock (see core/clock.py)."""
        async with self.store.begin() as conn:
            current = await clock_store.read_setting(conn, for_update=True)
            setting = changed(
                current, self.real(), now_ms=now_ms, advance_ms=advance_ms, freeze=freeze
            )
            await clock_store.write_setting(conn, setting)
        self.setting = setting
        return setting

    async def release(self) -> None:
        """Back to real time."""
        async with self.store.begin() as conn:
            await clock_store.write_setting(conn, None)
        self.setting = None

    async def stored(self) -> ClockSetting | None:
        """The stored setting, read now (whether or not it applies)."""
        async with self.store.read() as conn:
            return await clock_store.read_setting(conn)
