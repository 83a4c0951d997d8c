"""Admin tokens: the configured one (SLOTBLOCK_ADMIN_TOKEN) and those created with
`slotblock admin-token` (stored by hash only). The admin API is off when there is none.
A location's token is never an admin token: they are different secrets, checked apart."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from slotblock.core.tokens import TOKEN_PREFIX, hash_token, new_id, new_token
from slotblock.store import Store
from slotblock.toolkit.store import control as admin_store

ADMIN_PREFIX = "sba-"


async def create_admin_token(store: Store, now_ms: int) -> str:
    """A new admin token, returned once in clear; only its hash is stored."""
    token = ADMIN_PREFIX + new_token().removeprefix(TOKEN_PREFIX)
    async with store.begin() as conn:
        await admin_store.insert_admin_token(conn, new_id(), hash_token(token), now_ms)
    return token


class AdminGate:
    """Whether the admin API is on, and whether a token opens it. "On" is remembered for
    `ttl` seconds, so that the request path pays for it once in a while only."""

    def __init__(
        self,
        store: Store,
        configured: str | None,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.configured = configured
        self.ttl = ttl
        self.clock = clock
        self._known: tuple[float, bool] | None = None

    async def enabled(self) -> bool:
        if self.configured:
            return True
        now = self.clock()
        if self._known is not None and self._known[0] > now:
            return self._known[1]
        async with self.store.read() as conn:
            found = await admin_store.has_admin_tokens(conn)
        self._known = (now + self.ttl, found)
        return found

    async def admits(self, token: str) -> bool:
        if self.configured and secrets.compare_digest(
            token.encode("utf-8", "surrogatepass"), self.configured.encode()
        ):
            return True
        async with self.store.read() as conn:
            return await admin_store.is_admin_token(conn, hash_token(token))
