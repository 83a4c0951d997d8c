"""Who is calling, and what they may do: tokens, scopes, tenancy.

The service takes a token string, wherever it came from (the API parses the headers)."""

from __future__ import annotations

import time
from collections.abc import Callable

from slotblock.core.errors import Forbidden, ScopeMissing, Unauthenticated
from slotblock.core.model import Principal
from slotblock.core.oauth import AUTH_CLASS, INVALID_JWT, LOCATION, CompanyPrincipal, Grant
from slotblock.core.tokens import hash_token
from slotblock.store import Store
from slotblock.store import oauth as oauth_store
from slotblock.store import tokens as token_store

_CACHE_LIMIT = 10_000

BAD_TOKEN = "Invalid Private Integration token"
NO_SCOPE = "The token is not authorized for this scope."
OTHER_LOCATION = "The token does not have access to this location."


class Authenticator:
    """Turns a token into a principal, remembering live tokens for `ttl` seconds.

    A token is a private integration's, or an OAuth access token (service/oauth.py): a
    location's works on every API route as a private token of its location and scopes
    would; a company's only on the agency routes (`company`), elsewhere 401 as the
    platform answers it. An OAuth token, and a private token minted with an expiry, expire
    by the service's clock (`now_ms`), cached or not.

    The cache saves the token lookup on the hot path; its price is that a revoked token
    keeps working for at most `ttl` seconds on a node that saw it just before (0 disables).
    Unknown tokens are never cached, so a new token works at once.
    """

    def __init__(
        self,
        store: Store,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self.now_ms = now_ms
        # digest -> (remembered until, principal, expires at (service ms), its 401's message)
        self._live: dict[str, tuple[float, Principal, int | None, str]] = {}

    async def authenticate(self, token: str) -> Principal:
        """The principal of a live token, or Unauthenticated."""
        digest = hash_token(token)
        now = self.clock()
        cached = self._live.get(digest)
        if cached is not None and cached[0] > now:
            if cached[2] is not None and cached[2] <= self.now_ms():
                self._live.pop(digest, None)
                raise Unauthenticated(cached[3])
            return cached[1]
        principal, expires_ms, expired = await self._lookup(digest)
        if self.ttl > 0:
            if len(self._live) >= _CACHE_LIMIT:
                self._live.clear()
            self._live[digest] = (now + self.ttl, principal, expires_ms, expired)
        return principal

    async def _lookup(self, digest: str) -> tuple[Principal, int | None, str]:
        """The principal, when it expires (None: never) and the message its 401 says then."""
        async with self.store.read() as conn:
            found = await token_store.find_active(conn, digest)
            oauth = None if found is not None else await oauth_store.find_access(conn, digest)
        if found is not None:
            info, location = found
            if info.expires_ms is not None and info.expires_ms <= self.now_ms():
                self._live.pop(digest, None)
                raise Unauthenticated(BAD_TOKEN)
            principal = Principal(
                token_id=info.id, location=location, scopes=frozenset(info.scopes)
            )
            return principal, info.expires_ms, BAD_TOKEN
        self._live.pop(digest, None)
        if oauth is None:
            raise Unauthenticated(BAD_TOKEN)
        grant, place = oauth
        _live_grant(grant, self.now_ms())
        if grant.user_type != LOCATION or place is None:
            raise Unauthenticated(AUTH_CLASS)
        principal = Principal(token_id=grant.id, location=place, scopes=frozenset(grant.scopes))
        return principal, grant.expires_ms, INVALID_JWT

    async def company(self, token: str) -> CompanyPrincipal:
        """The principal of a company's live OAuth access token (not cached: the agency
        routes are not a hot path); 401 for any other token."""
        async with self.store.read() as conn:
            found = await oauth_store.find_access(conn, hash_token(token))
        if found is None:
            raise Unauthenticated(INVALID_JWT)
        grant = found[0]
        _live_grant(grant, self.now_ms())
        if grant.user_type == LOCATION:
            raise Unauthenticated(AUTH_CLASS)
        return CompanyPrincipal(
            grant_id=grant.id,
            app_id=grant.app_id,
            company_id=grant.company_id,
            user_id=grant.user_id,
            scopes=frozenset(grant.scopes),
        )

    def forget(self) -> None:
        """Drop every remembered token (after stored state was reset or loaded)."""
        self._live.clear()


def _live_grant(grant: Grant, now_ms: int) -> None:
    if grant.expires_ms <= now_ms:
        raise Unauthenticated(INVALID_JWT)


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise ScopeMissing(NO_SCOPE)


def check_location(principal: Principal, location_id: str) -> None:
    """A `locationId` named by the client must be the token's own."""
    if location_id != principal.location.id:
        raise Forbidden(OTHER_LOCATION)
