"""PURE: the opaque tokens of the changes feed.

A token is URL-safe base64 of a small JSON record, a dot, and the first 128 bits of its
HMAC-SHA256 under the server's token key (`<payload>.<mac>`): a client can read a token but
not make or change one. The record names the location and the filter it was made for
(another location or filter is refused) and the change number it stands at:

* a sync token: "everything up to change `s` was shown";
* a page token of the first listing: "blocks by id after `a`, then sync from `h`";
* a page token of changes: "blocks changed in (s, h], by last change, after change `a`".

`t` is when the sync began; a token older than the tombstone retention is gone. Every number
is an integer in 0…2⁶³−1 and the id at most 64 characters, checked even under a valid MAC.
A token without a MAC (issued before tokens were authenticated) is gone too: its client
syncs again from the start, as after the retention.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from typing import Literal

from slotblock.core.errors import Gone, InvalidInput
from slotblock.core.model import Targets

Mode = Literal["sync", "all", "changes"]
INVALID = "syncToken or pageToken is invalid for this location and filter"
GONE = "the sync token is older than the tombstone retention; sync again without a token"
UNSIGNED = "the sync token is from an earlier version of the server; sync again without a token"
MAC_BYTES = 16
MAX_NUMBER = 2**63 - 1  # what both stores and the JSON encoder keep exactly
MAX_ID = 64
MAX_SCOPE = 4 * (MAX_ID + 8)


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


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _mac(payload: str, key: bytes) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:MAC_BYTES])


def encode(position: Position, key: bytes) -> str:
    payload = _b64(json.dumps(asdict(position), separators=(",", ":")).encode())
    return f"{payload}.{_mac(payload, key)}"


def decode(token: str, key: bytes, scope: str, now_ms: int, retention_ms: int) -> Position:
    """The position of a token this server made for `scope`: 400 for any other token (made
    elsewhere, altered, or for another location or filter), 410 once past retention."""
    payload, dot, mac = token.partition(".")
    if not dot:
        _legacy(payload)
    if not hmac.compare_digest(mac.encode(), _mac(payload, key).encode()):
        raise InvalidInput(INVALID)
    position = _position(payload)
    if position is None or position.scope != scope:
        raise InvalidInput(INVALID)
    if now_ms - position.issued_ms > retention_ms:
        raise Gone(GONE)
    return position


def _legacy(payload: str) -> None:
    """A token without a MAC: gone if it reads as a token of an earlier version, else 400."""
    if _position(payload) is not None:
        raise Gone(UNSIGNED)
    raise InvalidInput(INVALID)


def _position(payload: str) -> Position | None:
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        position = Position(**json.loads(raw))
    except (binascii.Error, ValueError, TypeError, RecursionError):
        return None
    return position if _well_formed(position) else None


def _well_formed(p: Position) -> bool:
    numbers = (p.since, p.upto, p.issued_ms)
    if not all(type(n) is int and 0 <= n <= MAX_NUMBER for n in numbers):
        return False
    if not isinstance(p.scope, str) or len(p.scope) > MAX_SCOPE:
        return False
    if p.mode == "all":
        return type(p.after) is str and len(p.after) <= MAX_ID
    return p.mode in ("sync", "changes") and type(p.after) is int and 0 <= p.after <= MAX_NUMBER
