"""Reading a connected calendar over HTTP, through the outbound guard (service/outbound.py):
the URL is checked at every request and at every redirect, within the connection timeout,
and at most SLOTBLOCK_CONNECTION_MAX_BYTES of an answer are read (past it the sync fails).

An iCalendar address is read with a conditional GET (If-None-Match / If-Modified-Since with
the validators of the last read): an unchanged calendar costs one 304.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from slotblock.core.model import Connection
from slotblock.service.outbound import DestinationRefused, OutboundClient, Unreachable

__all__ = ["DestinationRefused", "FetchFailed", "Fetched", "Unreachable", "fetch_ical"]


# The body as sent, not compressed: the byte cap counts what is parsed (no zip bomb), and
# the guard reads the raw stream.
PLAIN = {"accept-encoding": "identity"}


class FetchFailed(Exception):
    """The calendar answered, but not with a calendar (4xx, 5xx, too large)."""


@dataclass(frozen=True)
class Fetched:
    documents: tuple[bytes, ...] | None  # None: unchanged since the last read
    etag: str | None = None
    last_modified: str | None = None


def auth_headers(connection: Connection, secret: str | None) -> dict[str, str]:
    """HTTP Basic with the user name and password; a token alone as a Bearer token."""
    if secret is None:
        return {}
    if connection.username:
        pair = f"{connection.username}:{secret}".encode()
        return {"authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return {"authorization": f"Bearer {secret}"}


async def fetch_ical(
    client: OutboundClient, connection: Connection, secret: str | None, max_bytes: int
) -> Fetched:
    headers = {"accept": "text/calendar", **PLAIN, **auth_headers(connection, secret)}
    if connection.etag:
        headers["if-none-match"] = connection.etag
    if connection.last_modified:
        headers["if-modified-since"] = connection.last_modified
    answer = await client.following(
        "GET", connection.url, headers=headers, read_bytes=max_bytes + 1
    )
    if answer.status == 304:
        return Fetched(None, connection.etag, connection.last_modified)
    check_answer(answer.status, answer.bytes_read, max_bytes)
    return Fetched((answer.head,), answer.header("etag"), answer.header("last-modified"))


def check_answer(status: int, size: int, max_bytes: int) -> None:
    if status == 429 or status >= 500:
        raise Unreachable(f"HTTP {status}")
    if not 200 <= status < 300:
        raise FetchFailed(f"HTTP {status}")
    if size > max_bytes:
        raise FetchFailed(f"the calendar is larger than {max_bytes} bytes")
