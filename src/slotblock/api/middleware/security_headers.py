"""The standard headers of a JSON API on every answer: the browser must not sniff a type
(`X-Content-Type-Options: nosniff`) and nothing may keep a copy of an answer that carries
tenant data (`Cache-Control: no-store`). A pure ASGI middleware; a header the route set
itself is kept."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = {
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


_RAW = [(name.encode(), value.encode()) for name, value in HEADERS.items()]


def with_defaults(
    headers: Iterable[tuple[bytes, bytes]], defaults: Iterable[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """`headers` (an ASGI message's) with each of `defaults` that it does not name
    already (names compared case-blind): one pass, no header parsed twice."""
    found = list(headers)
    present = {name.lower() for name, _ in found}
    found.extend(item for item in defaults if item[0] not in present)
    return found


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_defaults(message.get("headers", ()), _RAW)
            await send(message)

        await self.app(scope, receive, with_headers)
