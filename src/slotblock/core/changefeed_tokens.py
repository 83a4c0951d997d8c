"""PURE: the opaque tokens of the changes feed.

A token is URL-safe base64 of a small JSON record; it names the location and the filter it
was made for (another location or filter is refused) and the change number it stands at:

* a sync token: "everything up to change `s` was shown";
* a page token of the first listing: "blocks by id after `a`, then sync from `h`";
* a page token of changes: "blocks changed in (s, h], by last change, after change `a`".

`t` is when the sync began; a token older than the tombstone retention is gone.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass
from typing import Literal

from slotblock.core.errors import Gone, InvalidInput
from slotblock.core.model import Targets

Mode = Literal["sync", "all", "changes"]
INVALID = "syncToken or pageToken is invalid for this location and filter"
GONE = "the sync token is older than the tombstone retention; sync again without a token"


@dataclass(frozen=True)
class Position:
    mode: Mode
    scope: str  # the location and filter the token belongs to
    since: int = 0  # changes after this number
    upto: int = 0  # ... and up to this one (page tokens)
    after: int | str = 0  # the last change number, or block id, already shown
    issued_ms: int = 0


def scope_of(location_id: str, targets: Targets) -> str:
    return json.dumps([location_id, targets.calendar_id, targets.user_id, targets.group_id])


def encode(position: Position) -> str:
    raw = json.dumps(asdict(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, scope: str, now_ms: int, retention_ms: int) -> Position:
    """The position of a token made for `scope` (400 otherwise; 410 once past retention)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        position = Position(**json.loads(raw))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidInput(INVALID) from exc
    if not _well_formed(position) or position.scope != scope:
        raise InvalidInput(INVALID)
    if now_ms - position.issued_ms > retention_ms:
        raise Gone(GONE)
    return position


def _well_formed(p: Position) -> bool:
    numbers = (p.since, p.upto, p.issued_ms)
    if not all(type(n) is int for n in numbers):
        return False
    after_type = str if p.mode == "all" else int
    return p.mode in ("sync", "all", "changes") and type(p.after) is after_type
