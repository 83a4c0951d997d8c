"""Reading a CalDAV collection (RFC 4791) through the outbound guard.

A collection is read resource by resource (core/connection_resources.py):

* with a sync token from the last read, one `sync-collection` REPORT (RFC 6578) names the
  resources that changed (with their new ETags) and those that went away: nothing changed
  costs that one small answer;
* the changed ones are read with one `calendar-multiget` REPORT (RFC 4791 §7.9) naming
  their hrefs;
* without a token (the first read), or when the server will not answer with one (no RFC
  6578; a token it no longer accepts: 403/409 `valid-sync-token`; a truncated answer, 507),
  a new token is asked for with a PROPFIND of `{DAV:}sync-token` — first, so that a change
  made meanwhile is seen by the next sync — and every resource is read with one
  `calendar-query` REPORT.

Every answer is bounded by SLOTBLOCK_CONNECTION_MAX_BYTES; XML is parsed by the standard
library's expat parser, which refuses entity expansion bombs. Hrefs are kept as paths,
percent-decoded, so that the spellings of one resource in different answers agree.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

from slotblock.service.connection_fetch import PLAIN, FetchFailed, check_answer
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

_MULTIGET = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
{hrefs}
</c:calendar-multiget>"""

_TOKEN = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/></d:prop></d:propfind>"""

# Answers that say "not this way" (no such REPORT, a token the server no longer knows…):
# the caller falls back to a full read, or fails the sync.
_REFUSALS = (400, 403, 404, 405, 409, 412, 415, 422, 501)
_PCHAR = "/:@!$&'()*+,;=~"


@dataclass(frozen=True)
class Resource:
    href: str  # its path, percent-decoded
    etag: str | None
    data: bytes


@dataclass(frozen=True)
class Changes:
    """What a `sync-collection` REPORT says changed since a token."""

    changed: dict[str, str | None]  # href -> its new ETag
    removed: frozenset[str]
    token: str


class CalDav:
    """One collection, as one sync reads it."""

    def __init__(
        self,
        client: OutboundClient,
        url: str,
        auth: Mapping[str, str],
        max_bytes: int,
    ) -> None:
        self.client = client
        self.url = url
        self.path = _path(url, url).rstrip("/")
        self.auth = dict(auth)
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
        if answer.status in _REFUSALS:
            return answer.status, ET.Element("none")
        check_answer(answer.status, answer.bytes_read, self.max_bytes)
        try:
            return answer.status, ET.fromstring(answer.head)
        except ET.ParseError as exc:
            raise FetchFailed(f"the CalDAV answer is not XML: {exc}") from exc

    async def changes_since(self, token: str) -> Changes | None:
        """What changed since `token`; None when the server will not say (no RFC 6578, a
        token it no longer accepts, an answer it truncated)."""
        body = _SYNC.format(token=escape(token)).encode()
        status, root = await self._report("REPORT", body, "0")
        new = (root.findtext(f"{DAV}sync-token") or "").strip()
        if status != 207 or not new:
            return None
        changed: dict[str, str | None] = {}
        removed = set()
        for href, code, prop in self._members(root):
            if href is None:
                if code == 507:  # RFC 6578 §3.6: truncated
                    return None
            elif code == 404:
                removed.add(href)
            elif prop is not None:
                changed[href] = _etag(prop)
        return Changes(changed, frozenset(removed), new)

    async def multiget(self, hrefs: Sequence[str]) -> tuple[list[Resource], set[str]]:
        """The resources at `hrefs`, and the hrefs the server says are gone."""
        listed = "\n".join(f"  <d:href>{escape(quote(h, safe=_PCHAR))}</d:href>" for h in hrefs)
        status, root = await self._report("REPORT", _MULTIGET.format(hrefs=listed).encode(), "1")
        if status != 207:
            raise FetchFailed(f"calendar-multiget: HTTP {status}")
        found, gone = self._resources(root)
        return found, gone | (set(hrefs) - {r.href for r in found} - gone)

    async def everything(self) -> list[Resource]:
        status, root = await self._report("REPORT", _QUERY, "1")
        if status != 207:
            raise FetchFailed(f"calendar-query: HTTP {status}")
        return self._resources(root)[0]

    async def sync_token(self) -> str | None:
        status, root = await self._report("PROPFIND", _TOKEN, "0")
        if status != 207:
            return None
        token = next((e.text for e in root.iter(f"{DAV}sync-token") if e.text), None)
        return token.strip() if token else None

    def _resources(self, root: ET.Element) -> tuple[list[Resource], set[str]]:
        found, gone = [], set()
        for href, code, prop in self._members(root):
            if href is None:
                continue
            data = None if prop is None else prop.findtext(f"{CALDAV}calendar-data")
            if code == 404:
                gone.add(href)
            elif prop is not None and data and data.strip():
                found.append(Resource(href, _etag(prop), data.encode()))
        return found, gone

    def _members(self, root: ET.Element) -> Iterator[tuple[str | None, int, ET.Element | None]]:
        """(href, status, the 2xx properties) of each response; href None for the
        collection itself."""
        for response in root.findall(f"{DAV}response"):
            raw = response.findtext(f"{DAV}href")
            if not raw:
                continue
            href = _path(self.url, raw.strip())
            prop = next(
                (
                    p.find(f"{DAV}prop")
                    for p in response.findall(f"{DAV}propstat")
                    if 200 <= _status(p.findtext(f"{DAV}status")) < 300
                ),
                None,
            )
            code = _status(response.findtext(f"{DAV}status")) or (200 if prop is not None else 404)
            yield (None if href.rstrip("/") == self.path else href), code, prop


def _path(base: str, href: str) -> str:
    return unquote(urlsplit(urljoin(base, href)).path)


def _status(line: str | None) -> int:
    """The code of a `HTTP/1.1 404 Not Found` status line; 0 when there is none."""
    parts = (line or "").split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _etag(prop: ET.Element) -> str | None:
    etag = prop.findtext(f"{DAV}getetag")
    return etag.strip() if etag and etag.strip() else None
