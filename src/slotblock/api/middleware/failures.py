"""Unexpected failures answered in the official shape, logged without flooding.

A bug answers 500 and is logged as one line; its traceback is logged at most once a minute
(per exception type), not once per request, and the exception is not re-raised to the
server (which would log it again). The error text never carries SQL parameter values: the
store's engine hides them."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotblock.api.errors import error_response

log = logging.getLogger("slotblock.core.errors")
TRACEBACK_EVERY_SECONDS = 60.0


class OncePer:
    """True at most once per `seconds` for each key."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[str, float] = {}

    def __call__(self, key: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -self.seconds) < self.seconds:
            return False
        self._last[key] = now
        return True


class Failures:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.traceback_due = OncePer(TRACEBACK_EVERY_SECONDS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:  # the last line of defence: answer, log once
            kind = type(exc).__name__
            request_id = scope.get("state", {}).get("request_id", "-")
            log.error(
                "unhandled %s on %s %s (request id %s)", kind, scope["method"], scope["path"],
                request_id, exc_info=exc if self.traceback_due(kind) else None,
            )  # fmt: skip
            if not started:
                await error_response(500, "Internal server error")(scope, receive, send)
