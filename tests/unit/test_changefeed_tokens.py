"""Sync and page tokens are authenticated and bounded: made by this server's key, for this
location and filter, with every number a 64-bit integer — anything else is 400 (a token of
an earlier, unauthenticated version: 410, sync again)."""

from __future__ import annotations

import base64
import json

import pytest

from slotblock.core import changefeed_tokens as tokens
from slotblock.core.errors import Gone, InvalidInput
from slotblock.core.model import Targets

KEY = b"k" * 32
SCOPE = tokens.scope_of("loc1", Targets())
NOW = 1_700_000_000_000
DAY = 86_400_000


def decode(token: str, key: bytes = KEY, scope: str = SCOPE) -> tokens.Position:
    return tokens.decode(token, key, scope, NOW, 7 * DAY)


def unsigned(record: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(record).encode()).decode().rstrip("=")


def test_round_trip() -> None:
    position = tokens.Position("changes", SCOPE, 5, 9, 7, NOW)
    assert decode(tokens.encode(position, KEY)) == position
    listing = tokens.Position("all", SCOPE, 0, 9, "blockId01", NOW)
    assert decode(tokens.encode(listing, KEY)) == listing


def test_another_key_or_an_altered_payload_is_400() -> None:
    token = tokens.encode(tokens.Position("sync", SCOPE, since=3, issued_ms=NOW), KEY)
    with pytest.raises(InvalidInput):
        decode(token, key=b"another key, another server")
    payload, _, mac = token.partition(".")
    bigger = unsigned({"mode": "sync", "scope": SCOPE, "since": 0, "upto": 0, "after": 0,
                       "issued_ms": NOW})  # fmt: skip
    for altered in (f"{bigger}.{mac}", f"{payload}.{mac[:-2]}", f"{payload}.", f"{payload}.{mac}x"):
        with pytest.raises(InvalidInput):
            decode(altered)


@pytest.mark.parametrize(
    "field",
    [{"since": 2**64}, {"upto": 2**70}, {"after": 2**63}, {"issued_ms": -1}, {"since": -5},
     {"after": "x" * 65, "mode": "all"}, {"scope": "s" * 1000}],
)  # fmt: skip
def test_numbers_past_64_bits_are_refused_even_under_a_valid_mac(field: dict[str, object]) -> None:
    """A change number past 64 bits once reached the database (a 500)."""
    record: dict[str, object] = {"mode": "changes", "scope": SCOPE, "since": 1, "upto": 2,
                                 "after": 0, "issued_ms": NOW, **field}  # fmt: skip
    payload = unsigned(record)
    with pytest.raises(InvalidInput):
        decode(f"{payload}.{tokens._mac(payload, KEY)}")
    with pytest.raises(InvalidInput):  # unsigned, and malformed: not a token of any version
        decode(payload)


def test_an_unsigned_token_of_an_earlier_version_is_gone() -> None:
    record = {"mode": "sync", "scope": SCOPE, "since": 3, "upto": 0, "after": 0, "issued_ms": NOW}
    with pytest.raises(Gone, match="earlier version"):
        decode(unsigned(record))
