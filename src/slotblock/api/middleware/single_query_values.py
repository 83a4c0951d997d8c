"""A query parameter given twice (`calendarId=a&calendarId=b`) is refused with 400, as the
platform's validator does, instead of silently taking the last one. A pure ASGI middleware,
ahead of routing, so that every route is covered. The parameters that are lists by contract
(free/busy's targets, get-slots' `userIds`) are the only ones that may repeat."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from slotblock.api.errors import error_response

ListParameters = Callable[[str], frozenset[str]]  # path → the names that may repeat there


def repeated(query_string: bytes, lists: frozenset[str] = frozenset()) -> list[str]:
    """The names given more than once (but `lists`), in order of first appearance."""
    raw = [part.partition(b"=")[0] for part in query_string.split(b"&") if part]
    if len(set(raw)) == len(raw) and not any(b"%" in n or b"+" in n for n in raw):
        return []  # distinct as sent, and nothing encoded that could decode to a twin
    names = [name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)]
    counts = Counter(names)
    return [name for name in dict.fromkeys(names) if counts[name] > 1 and name not in lists]


def no_lists(_: str) -> frozenset[str]:
    return frozenset()


class SingleQueryValues:
    def __init__(self, app: ASGIApp, lists: ListParameters = no_lists) -> None:
        self.app = app
        self.lists = lists

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = self.lists(scope["path"])
        if names := repeated(scope.get("query_string", b""), allowed):
            messages = [f"{name} must be given once, not repeated" for name in names]
            await error_response(400, messages)(scope, receive, send)
            return
        await self.app(scope, receive, send)
