"""Identifiers and private-integration tokens. Pure: randomness comes from `secrets`.

Ids are 20 random base62 characters, like the platform's (`BqTwX8QFwXzpegMve9EQ`).
Tokens are `pit-` followed by 40 base62 characters; only their SHA-256 is ever stored and
looked up (by an index on the hash, so no comparison of secrets happens in Python): with
~238 bits of entropy a token cannot be guessed, so a salted slow hash adds nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import string

ALPHABET = string.digits + string.ascii_letters
ID_LENGTH = 20
TOKEN_PREFIX = "pit-"
FEED_TOKEN_PREFIX = "ical-"


def new_id() -> str:
    """A fresh 20-character base62 id."""
    return "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH))


def is_id(value: str) -> bool:
    """True when `value` could be an id (1–64 base62 characters)."""
    return 0 < len(value) <= 64 and all(c in ALPHABET for c in value)


def new_token() -> str:
    """A fresh private-integration token, shown once and never stored in clear."""
    return TOKEN_PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(40))


FEED_PATH_PREFIX = "/calendars/ical/"
FEED_PATH_MASKED = FEED_PATH_PREFIX + "{feedToken}.ics"


def loggable_path(path: str) -> str:
    """A request path as logs may show it: a feed's address is its only credential, so
    every path under /calendars/ical/ is shown as the route's template."""
    return FEED_PATH_MASKED if path.startswith(FEED_PATH_PREFIX) else path


def new_feed_token() -> str:
    """A fresh feed token: the secret part of a feed's address, shown once, stored hashed."""
    return FEED_TOKEN_PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(40))


def hash_token(token: str) -> str:
    """The hex SHA-256 under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value (the scheme in any
    case, spaces around the token ignored); None when there is no such token."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
