"""Who is calling, and what they may do: tokens, scopes, tenancy.

The service takes a token string, wherever it came from (the API parses the headers)."""

from __future__ import annotations

import time
from collections.abc import Callable

from slotblock.core.errors import Forbidden, ScopeMissing, Unauthenticated
from slotblock.core.model import Principal
from slotblock.core.tokens import hash_token
from slotblock.store import Store
from slotblock.store import tokens as token_store

_CACHE_LIMIT = 10_000

BAD_TOKEN = "Invalid Private Integration token"
NO_SCOPE = "The token is not authorized for this scope."
OTHER_LOCATION = "The token does not have access to this location."


class Authenticator:
    """Turns a token into a principal, remembering live tokens for `ttl` seconds.

    The cache saves the token lookup on the hot path; its price is that a revoked token
    keeps working for at most `ttl` seconds on a node that saw it just before (0 disables).
    Unknown tokens are never cached, so a new token works at once.
    """

    def __init__(
        self, store: Store, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self._live: dict[str, tuple[float, Principal]] = {}

    async def authenticate(self, token: str) -> Principal:
        """The principal of a live token, or Unauthenticated."""
        digest = hash_token(token)
        now = self.clock()
        cached = self._live.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.store.read() as conn:
            found = await token_store.find_active(conn, digest)
        if found is None:
            self._live.pop(digest, None)
            raise Unauthenticated(BAD_TOKEN)
        info, location = found
        principal = Principal(token_id=info.id, location=location, scopes=frozenset(info.scopes))
        if self.ttl > 0:
            if len(self._live) >= _CACHE_LIMIT:
                self._live.clear()
            self._live[digest] = (now + self.ttl, principal)
        return principal

    def forget(self) -> None:
        """Drop every remembered token (after stored state was reset or loaded)."""
        self._live.clear()


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise ScopeMissing(NO_SCOPE)


def check_location(principal: Principal, location_id: str) -> None:
    """A `locationId` named by the client must be the token's own."""
    if location_id != principal.location.id:
        raise Forbidden(OTHER_LOCATION)
