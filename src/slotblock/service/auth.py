"""Who is calling, and what they may do: tokens, API versions, scopes, tenancy."""

from __future__ import annotations

from slotblock.errors import Forbidden, ScopeMissing, Unauthenticated
from slotblock.model import Principal
from slotblock.store import Store
from slotblock.store import tokens as token_store
from slotblock.tokens import hash_token

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


async def authenticate(store: Store, authorization: str | None, version: str | None) -> Principal:
    """The principal behind the request's headers, or Unauthenticated."""
    check_version(version)
    token = bearer_token(authorization)
    digest = hash_token(token)
    async with store.read() as conn:
        found = await token_store.find_active(conn, digest)
    if found is None:
        raise Unauthenticated(BAD_TOKEN)
    info, location = found
    return Principal(token_id=info.id, location=location, scopes=frozenset(info.scopes))


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise ScopeMissing(NO_SCOPE)


def check_location(principal: Principal, location_id: str) -> None:
    """A `locationId` named by the client must be the token's own."""
    if location_id != principal.location.id:
        raise Forbidden(OTHER_LOCATION)
