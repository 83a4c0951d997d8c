"""The request headers every API call carries: `Authorization: Bearer …` and `Version`."""

from __future__ import annotations

from slotblock.core.errors import Unauthenticated
from slotblock.core.tokens import bearer_token

VERSIONS = frozenset({"2021-04-15", "2021-07-28", "2023-02-21", "v3"})

NO_TOKEN = "Invalid token: access token is invalid"
NO_VERSION = "version header was not found."
BAD_VERSION = "version header is invalid"


def check_version(version: str | None) -> None:
    """The `Version` header must name an API version the platform serves."""
    if version is None:
        raise Unauthenticated(NO_VERSION)
    if version.strip() not in VERSIONS:
        raise Unauthenticated(BAD_VERSION)


def caller_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header (401 without one)."""
    token = bearer_token(authorization)
    if token is None:
        raise Unauthenticated(NO_TOKEN)
    return token
