"""A query parameter given twice (`calendarId=a&calendarId=b`) is refused with 400, as the
platform's validator does, instead of silently taking the last one. A pure ASGI middleware,
ahead of routing, so that every route is covered."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from slotblock.api.errors import error_response


def repeated(query_string: bytes) -> list[str]:
    """The names given more than once, in order of first appearance."""
    names = [name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)]
    counts = Counter(names)
    return [name for name in dict.fromkeys(names) if counts[name] > 1]


class SingleQueryValues:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (names := repeated(scope.get("query_string", b""))):
            messages = [f"{name} must be given once, not repeated" for name in names]
            await error_response(400, messages)(scope, receive, send)
            return
        await self.app(scope, receive, send)
