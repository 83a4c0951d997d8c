"""The admin control plane of one process: the admin gate, fixtures, the fault rules and
the request log. Faults and the log live in the process that serves the requests (run one
node, or talk to each node, when testing with them); the data they act on is the database's.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from slotblock.config import Settings
from slotblock.core.faults import Action, FaultRule, FaultTable, Match
from slotblock.core.tokens import hash_token, new_id
from slotblock.store import Store
from slotblock.toolkit.service.admin_auth import AdminGate
from slotblock.toolkit.service.fixtures import FixtureService
from slotblock.toolkit.service.request_log import RequestLog
from slotblock.toolkit.store import control as admin_store

_CALLER_CACHE = 10_000


class ControlPlane:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock_ms: Callable[[], int],
        forget_cached: Callable[[], None],
    ) -> None:
        self.store = store
        self.gate = AdminGate(store, settings.admin_token, settings.token_cache_seconds)
        self.faults = FaultTable()
        self.log = RequestLog(settings.request_log_size, settings.request_log_body_bytes)
        self.fixtures = FixtureService(
            store, settings.max_count, clock_ms, self.forget, settings.write_deadline_seconds
        )
        self._forget_cached = forget_cached
        self._callers: dict[str, tuple[str, str]] = {}

    def forget(self) -> None:
        """Stored state changed under this process: drop what it remembers of it."""
        self._callers.clear()
        self._forget_cached()

    async def reset(self, location_id: str | None) -> None:
        """Empty one location, or everything: all data, fault rules and logged requests."""
        await self.fixtures.reset(location_id)
        if location_id is None:
            self.faults.clear()
            self.log.clear()

    def add_fault(
        self,
        match: Match,
        action: Action,
        times: int | None = None,
        probability: float | None = None,
        seed: int | None = None,
    ) -> FaultRule:
        if seed is None:
            seed = secrets.randbelow(2**31)
        rule = FaultRule(new_id(), match, action, times, probability, seed)
        self.faults.add(rule)
        return rule

    async def caller_of(self, authorization: str | None) -> tuple[str, str] | None:
        """(token id, location id) of the request's bearer token, revoked or not; None when
        there is none or it is unknown. Only the hash is looked up and remembered."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = hash_token(token.strip())
        found = self._callers.get(digest)
        if found is None:
            async with self.store.read() as conn:
                found = await admin_store.token_owner(conn, digest)
            if found is not None:
                if len(self._callers) >= _CALLER_CACHE:
                    self._callers.clear()
                self._callers[digest] = found
        return found
