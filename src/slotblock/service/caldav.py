"""Reading a CalDAV collection (RFC 4791) through the outbound guard.

With a sync token from the last read, one `sync-collection` REPORT (RFC 6578) asks what
changed: nothing changed costs that one small answer. When something changed, or there is
no token (first read, or a server without RFC 6578, or a token the server no longer
accepts), the collection's events are read with one `calendar-query` REPORT, and a new
token is asked for with a PROPFIND of `{DAV:}sync-token`. Every answer is bounded by
SLOTBLOCK_CONNECTION_MAX_BYTES; XML is parsed by the standard library's expat parser,
which refuses entity expansion bombs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from slotblock.core.model import Connection
from slotblock.service.connection_fetch import (
    PLAIN,
    Fetched,
    FetchFailed,
    auth_headers,
    check_answer,
)
from slotblock.service.outbound import OutboundClient

DAV = "{DAV:}"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"

_SYNC = """<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:">
  <d:sync-token>{token}</d:sync-token>
  <d:sync-level>1</d:sync-level>
  <d:prop><d:getetag/></d:prop>
</d:sync-collection>"""

_QUERY = b"""<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter>
  </c:filter>
</c:calendar-query>"""

_TOKEN = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/></d:prop></d:propfind>"""


async def fetch_caldav(
    client: OutboundClient, connection: Connection, secret: str | None, max_bytes: int
) -> Fetched:
    dav = _Dav(client, connection, secret, max_bytes)
    if connection.sync_token:
        changed = await dav.changes_since(connection.sync_token)
        if changed is not None and not changed[0]:
            return Fetched(None, sync_token=changed[1])
    documents = await dav.events()
    return Fetched(tuple(documents), sync_token=await dav.sync_token())


class _Dav:
    def __init__(
        self, client: OutboundClient, connection: Connection, secret: str | None, max_bytes: int
    ) -> None:
        self.client = client
        self.url = connection.url
        self.auth = auth_headers(connection, secret)
        self.max_bytes = max_bytes

    async def _report(self, method: str, body: bytes, depth: str) -> tuple[int, ET.Element]:
        headers = {
            "content-type": "application/xml; charset=utf-8",
            "depth": depth,
            **PLAIN,
            **self.auth,
        }
        answer = await self.client.following(
            method, self.url, content=body, headers=headers, read_bytes=self.max_bytes + 1
        )
        if answer.status in (400, 403, 404, 405, 409, 412, 415, 422, 501):
            return answer.status, ET.Element("none")
        check_answer(answer.status, answer.bytes_read, self.max_bytes)
        try:
            return answer.status, ET.fromstring(answer.head)
        except ET.ParseError as exc:
            raise FetchFailed(f"the CalDAV answer is not XML: {exc}") from exc

    async def changes_since(self, token: str) -> tuple[bool, str] | None:
        """(whether anything changed, the new token); None when the server will not say
        (no RFC 6578, or a token it no longer knows)."""
        body = _SYNC.format(token=_escape(token)).encode()
        status, root = await self._report("REPORT", body, "0")
        new = root.findtext(f"{DAV}sync-token")
        if status != 207 or not new:
            return None
        return bool(root.findall(f"{DAV}response")) or new != token, new

    async def events(self) -> list[bytes]:
        status, root = await self._report("REPORT", _QUERY, "1")
        if status != 207:
            raise FetchFailed(f"calendar-query: HTTP {status}")
        return [
            data.text.encode()
            for data in root.iter(f"{CALDAV}calendar-data")
            if data.text and data.text.strip()
        ]

    async def sync_token(self) -> str | None:
        status, root = await self._report("PROPFIND", _TOKEN, "0")
        if status != 207:
            return None
        token = next((e.text for e in root.iter(f"{DAV}sync-token") if e.text), None)
        return token.strip() if token else None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
