"""Instants as UTC epoch milliseconds, and their ISO 8601 spellings. Pure.

The wire shows an instant in the location's IANA zone, to the second, with a numeric
offset (`2023-09-25T16:00:00+05:30`), never `Z` and never a fraction.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_MS = -62135596800000  # 0001-01-01T00:00:00Z
MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z


# What an IANA zone name can look like (`America/Argentina/ComodRivadavia`, `Etc/GMT+10`):
# slash-separated components of letters, digits, `_`, `+` and `-` (tz keeps each to 14
# characters; 30 are allowed), 64 characters in all. Checked before the lookup, which opens a file
# named after the key: a 300-character component is ENAMETOOLONG and a directory such as
# `America` is EISDIR, both OSErrors, not the "unknown zone" a caller can report.
MAX_ZONE_NAME = 64
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]{1,30}(?:/[A-Za-z0-9_+-]{1,30}){0,3}")


def zone_name_ok(name: object) -> bool:
    """True when `name` has the shape of an IANA zone name (it may still name none)."""
    return (
        isinstance(name, str)
        and len(name) <= MAX_ZONE_NAME
        and _ZONE_NAME.fullmatch(name) is not None
    )


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`; ValueError when there is none (never another error)."""
    if not zone_name_ok(name):
        raise ValueError(f"unknown IANA timezone {str(name)[:MAX_ZONE_NAME]!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise ValueError(f"unknown IANA timezone {name!r}") from exc


def to_ms(value: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_ms(ms: int, tz: ZoneInfo) -> datetime:
    """The aware datetime of epoch milliseconds `ms` in zone `tz`."""
    return (EPOCH + timedelta(milliseconds=ms)).astimezone(tz)


@lru_cache(maxsize=65_536)
def format_ms(ms: int, tz: ZoneInfo) -> str:
    """`2023-09-25T16:00:00+05:30`: seconds precision, the zone's offset at that instant."""
    return from_ms(ms - ms % 1000, tz).isoformat(timespec="seconds")


def parse_iso(text: str) -> int:
    """Epoch ms of an ISO 8601 date-time that carries an offset or `Z`.

    ValueError for anything else, including a date-time without an offset: a block is an
    instant range, and guessing a zone would silently move it.
    """
    if not isinstance(text, str) or not 10 < len(text) <= 40 or "T" not in text.upper():
        raise ValueError("not an ISO 8601 date-time")
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("ISO 8601 date-time without an offset")
    return to_ms(value)
