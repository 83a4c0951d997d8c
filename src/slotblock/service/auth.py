"""Who is calling, and what they may do: tokens, API versions, scopes, tenancy."""

from __future__ import annotations

import time
from collections.abc import Callable

from slotblock.errors import Forbidden, ScopeMissing, Unauthenticated
from slotblock.model import Principal
from slotblock.store import Store
from slotblock.store import tokens as token_store
from slotblock.tokens import hash_token

_CACHE_LIMIT = 10_000
VERSIONS = frozenset({"2021-04-15", "2021-07-28", "2023-02-21", "v3"})

NO_TOKEN = "Invalid token: access token is invalid"
BAD_TOKEN = "Invalid Private Integration token"
NO_SCOPE = "The token is not authorized for this scope."
NO_VERSION = "version header was not found."
BAD_VERSION = "version header is invalid"
OTHER_LOCATION = "The token does not have access to this location."


def check_version(version: str | None) -> None:
    """The `Version` header must name an API version the platform serves."""
    if version is None:
        raise Unauthenticated(NO_VERSION)
    if version.strip() not in VERSIONS:
        raise Unauthenticated(BAD_VERSION)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(NO_TOKEN)
    return token.strip()


class Authenticator:
    """Turns request headers into a principal, remembering live tokens for `ttl` seconds.

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

    async def authenticate(self, authorization: str | None, version: str | None) -> Principal:
        """The principal behind the request's headers, or Unauthenticated."""
        check_version(version)
        digest = hash_token(bearer_token(authorization))
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
