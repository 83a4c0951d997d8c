"""PURE: what may be shown of a connected calendar's address.

A calendar's address can be its only credential (Google's "secret address in iCal format",
Outlook's published link, a CalDAV collection readable without a password), so what
slotblock shows of it — answers, listings, exports, logs, a sync's recorded error — is the
scheme, the host and the port, and `…` for the path and the query, whatever they are:

    redacted("https://calendar.google.com/calendar/ical/x%40gmail.com/private-abc/basic.ics")
    == "https://calendar.google.com/…"

The address itself is kept apart (sealed; service/connection_secrets.py) and read by the
sync only.
"""

from __future__ import annotations

import json
from urllib.parse import quote, unquote, urlsplit

MARK = "…"
_SECRET_FIELDS = ("url", "password")


def redacted(url: str) -> str:
    """`scheme://host[:port]/…` of an address (a user name or password in it left out)."""
    parts = urlsplit(url.strip())
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}/{MARK}"


def is_redacted(url: str) -> bool:
    """Whether `url` is what `redacted` shows (an export's address), not an address."""
    return url.strip().endswith("/" + MARK) and redacted(url) == url.strip()


def scrubbed(text: str, url: str) -> str:
    """`text` without the address's path and query, in any spelling an error message of
    an HTTP client may use (as given, percent-encoded, decoded)."""
    parts = urlsplit(url)
    for secret in _spellings(url):
        text = text.replace(secret, redacted(url))
    pieces = [parts.path, parts.query, f"{parts.path}?{parts.query}" if parts.query else ""]
    for secret in sorted({s for p in pieces for s in _spellings(p)}, key=len, reverse=True):
        if len(secret) > 1:  # "/" alone hides nothing
            text = text.replace(secret, MARK)
    return text


def _spellings(text: str) -> set[str]:
    return {text, quote(text, safe="/:@?&=+$,;~%"), unquote(text)} - {""}


def redacted_body(body: bytes) -> bytes:
    """A connection's JSON request body with its address redacted and its password as
    `***`: what a request log may keep of it."""
    try:
        fields = json.loads(body)
    except ValueError:
        return b"***" if body else body
    if not isinstance(fields, dict):
        return body
    if isinstance(fields.get("url"), str):
        fields["url"] = redacted(fields["url"])
    if fields.get("password") is not None:
        fields["password"] = "***"
    return json.dumps(fields, ensure_ascii=False).encode()
