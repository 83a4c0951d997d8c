"""The OpenAPI vocabulary the route modules share: the error table of every operation, the
extension marker, and the documented headers of conditional and idempotent writes."""

from __future__ import annotations

from typing import Any

from fastapi import Header

from slotblock.api.schemas import ErrorDTO

EXTENSION = "**Extension** (slotblock; the official API has no such {what})."
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorDTO} for code in (400, 401, 403, 404, 422)
}
# Conditional writes and idempotent creates (extensions; see README "Following changes").
ETAG_HEADER = {
    "ETag": {
        "description": "**Extension**: strong entity tag of the block (its stored version); "
        "an instance carries its series' tag.",
        "schema": {"type": "string"},
    }
}
PRECONDITION: dict[int | str, dict[str, Any]] = {
    412: {"model": ErrorDTO, "description": "If-Match names a stale version"}
}
IF_MATCH = Header(
    alias="If-Match",
    description="**Extension**: write only if the block is still at this ETag (else 412).",
)
IDEMPOTENCY_KEY = Header(
    alias="Idempotency-Key",
    max_length=255,
    description="**Extension**: the same key and body within the keep period (24 h by "
    "default) answer the first create again, without a second block; another body → 422.",
)
