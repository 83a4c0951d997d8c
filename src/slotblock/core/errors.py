"""The one exception tree of slotblock.

    SlotblockError
    ├── InvalidInput          a request is malformed (missing/unknown/mistyped)   → 400
    ├── Unauthenticated       no, unknown or revoked token; bad Version header    → 401
    │   └── ScopeMissing      the token lacks the scope the operation needs      → 401
    ├── Forbidden             a locationId that is not the token's                → 403
    ├── NotFound              an id that is not in the token's location           → 404
    │   └── ReferenceMissing  a record the change points to is gone              → 404
    ├── Conflict              an id already taken; a concurrent change lost       → 409
    │   └── AlreadyExists     a unique key is taken                               → 409
    ├── Gone                  a sync token older than the tombstone retention     → 410
    ├── PreconditionFailed    an If-Match naming a version no longer stored       → 412
    ├── Unprocessable         well-formed but impossible: times, limits, a delete → 422
    │   │                     that would orphan data (a calendar with blocks…)
    │   ├── StillReferenced   a record others still point to                     → 422
    │   └── RecurrenceError   an rrule that cannot be accepted                    → 422
    │       ├── TooManyInstances  an expansion past its limit                     → 422
    │       └── TooMuchWork   finding occurrences past the work budget            → 422
    ├── RateLimited           past the token's burst or daily quota              → 429
    └── Unavailable           the database cannot be reached                      → 503

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
    """The id is taken, or a concurrent change could not be merged: try again."""


# What a transaction that lost to a concurrent one answers (also a fault rule's 409).
CONTENTION = "the change conflicted with a concurrent one; retry it"


class Gone(SlotblockError):
    """What the request refers to is no longer kept (a sync token past its retention)."""


class PreconditionFailed(SlotblockError):
    """The client's If-Match names a version that is no longer the stored one."""


class Unprocessable(SlotblockError):
    """Well-formed, but impossible to carry out (including a change that would orphan data)."""


class RecurrenceError(Unprocessable):
    """The rule cannot be accepted; the message says why, for the client."""


class TooManyInstances(RecurrenceError):
    """An expansion would exceed the caller's limit."""


class RateLimited(SlotblockError):
    """The caller is past its request quota; `retry_after_s` says when to come back."""

    def __init__(self, *messages: str, retry_after_s: int = 1) -> None:
        super().__init__(*messages)
        self.retry_after_s = retry_after_s


class TooMuchWork(RecurrenceError):
    """Finding the occurrences would take more work than the caller's budget allows."""


class AlreadyExists(Conflict):
    """A record with that id already exists."""


class ReferenceMissing(NotFound):
    """A record the change points to does not exist (any more)."""


class StillReferenced(Unprocessable):
    """The record is still referenced by others."""


class Unavailable(SlotblockError):
    """The database (or another dependency) cannot be reached; retry later."""
