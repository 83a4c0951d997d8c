"""The one exception tree of slotblock.

    SlotblockError
    ├── InvalidInput          a request is malformed (missing/unknown/mistyped)   → 400
    ├── Unauthenticated       no, unknown or revoked token; bad Version header    → 401
    │   └── ScopeMissing      the token lacks the scope the operation needs      → 401
    ├── Forbidden             a locationId that is not the token's                → 403
    ├── NotFound              an id that is not in the token's location           → 404
    ├── Conflict              a change that would lose or orphan data             → 409
    └── Unprocessable         well-formed but impossible (times, rules, limits)   → 422

The HTTP layer maps each class to a status code; nothing here knows about HTTP.
"""

from __future__ import annotations


class SlotblockError(Exception):
    """Base of every error slotblock raises on purpose."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages: tuple[str, ...] = messages

    @property
    def message(self) -> str:
        return "; ".join(self.messages)


class InvalidInput(SlotblockError):
    """The request is malformed."""


class Unauthenticated(SlotblockError):
    """The caller could not be identified."""


class ScopeMissing(Unauthenticated):
    """The token is valid but lacks the scope the operation needs."""


class Forbidden(SlotblockError):
    """The caller may not touch this location."""


class NotFound(SlotblockError):
    """The id does not exist in the caller's location."""


class Conflict(SlotblockError):
    """The change would orphan or lose stored data."""


class Unprocessable(SlotblockError):
    """Well-formed, but impossible to carry out."""


# Appended: finer errors for the storage layer's constraint violations, and 503.
#   Conflict      └── AlreadyExists      a unique key is taken                        → 409
#   NotFound      └── ReferenceMissing   a referenced record is gone                  → 404
#   Unprocessable └── StillReferenced    a record others still point to              → 422
#   Unavailable                          the database cannot be reached               → 503


class AlreadyExists(Conflict):
    """A record with that id already exists."""


class ReferenceMissing(NotFound):
    """A record the change points to does not exist (any more)."""


class StillReferenced(Unprocessable):
    """The record is still referenced by others."""


class Unavailable(SlotblockError):
    """The database (or another dependency) cannot be reached; retry later."""
