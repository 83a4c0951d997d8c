"""The admin control plane: the admin gate, fixtures, the clock, the fault rules and the
request log. All of it is stored with the data, so that every worker and node of one
database answers alike: a test against a fleet behaves as against one process. Before each
request it observes, while the admin API is on, `sync` reads the clock and the rules' stamp
(one statement) and brings this process's copies up to date.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from slotblock.config import Settings
from slotblock.core.clock import ClockSetting
from slotblock.core.faults import Action, FaultRule, Match
from slotblock.core.tokens import bearer_token, hash_token, new_id
from slotblock.service.clock import StoredClock
from slotblock.store import Store
from slotblock.store.window_query import WindowReader
from slotblock.toolkit.service.admin_auth import AdminGate
from slotblock.toolkit.service.faults import SharedFaults
from slotblock.toolkit.service.fixtures import FixtureService, RuleLimits
from slotblock.toolkit.service.request_log import RequestLog
from slotblock.toolkit.store import control as admin_store
from slotblock.toolkit.store import faults as fault_store

log = logging.getLogger("slotblock.admin")

_CALLER_CACHE = 10_000


class ControlPlane:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: StoredClock,
        forget_cached: Callable[[], None],
        reader: WindowReader | None = None,
    ) -> None:
        self.store = store
        self.reader = reader  # the driver's own connection, for the per-request snapshot
        self.gate = AdminGate(store, settings.admin_token, settings.token_cache_seconds)
        self.clock = clock
        clock.applies = self.gate.enabled  # the stored clock is followed while the API is on
        self.faults = SharedFaults(store)
        self.log = RequestLog(store, settings.request_log_size, settings.request_log_body_bytes)
        self.fixtures = FixtureService(
            store, RuleLimits.of(settings), clock, self.forget, settings.write_deadline_seconds
        )
        self._forget_cached = forget_cached
        self._callers: dict[str, tuple[str, str]] = {}

    def forget(self) -> None:
        """Stored state changed under this process: drop what it remembers of it."""
        self._callers.clear()
        self._forget_cached()

    async def sync(self) -> None:
        """Adopt the stored clock and, when they changed, the stored fault rules. An
        unreachable database leaves the copies as they were: the request answers 503 itself."""
        try:
            setting, stamp = await self._snapshot()
            self.clock.adopt(setting)
            await self.faults.follow(stamp)
        except Exception:  # never turn a request into a 500 for this
            log.warning("cannot read the control plane's state", exc_info=True)

    async def _snapshot(self) -> tuple[ClockSetting | None, str | None]:
        if self.reader is not None:  # no pool ping, BEGIN or thread hop: one short read
            row = await self.reader.fetch_row(fault_store.SNAPSHOT_SQL)
            assert row is not None
            return fault_store.snapshot_of(row)
        async with self.store.read() as conn:
            return await fault_store.snapshot(conn)

    async def reset(self, location_id: str | None) -> None:
        """Empty one location, or everything: all data, the clock (back to real time), fault
        rules and logged requests (stored with the data, they go with it)."""
        await self.fixtures.reset(location_id)
        if location_id is None:
            self.clock.adopt(None)
            self.faults.forget()

    async def add_fault(
        self,
        match: Match,
        action: Action,
        times: int | None = None,
        probability: float | None = None,
        seed: int | None = None,
    ) -> FaultRule:
        if seed is None:
            seed = secrets.randbelow(2**31)
        rule = FaultRule(
            id=new_id(), match=match, action=action, times=times, probability=probability, seed=seed
        )
        await self.faults.add(rule)
        return rule

    async def caller_of(self, authorization: str | None) -> tuple[str, str] | None:
        """(token id, location id) of the request's bearer token, revoked or not; None when
        there is none or it is unknown. Only the hash is looked up and remembered."""
        token = bearer_token(authorization)
        if token is None:
            return None
        digest = hash_token(token)
        found = self._callers.get(digest)
        if found is None:
            async with self.store.read() as conn:
                found = await admin_store.token_owner(conn, digest)
            if found is not None:
                if len(self._callers) >= _CALLER_CACHE:
                    self._callers.clear()
                self._callers[digest] = found
        return found
