"""Failures that escaped every handler, answered in the official shape, logged without
flooding.

A domain error raised outside the router (by a middleware) gets its own status, and an
outage (`outage(exc)`: the database unreachable, whichever path met it) is a 503 with
`Retry-After`, logged as one warning line a minute. Anything else is a bug: 500, logged as one line;
its traceback is logged at most once a minute (per exception type), not once per request,
and the exception is not re-raised to the server (which would log it again). The error text
never carries SQL parameter values: the store's engine hides them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotblock.api.errors import domain_error_response, error_response
from slotblock.core.errors import SlotblockError, Unavailable
from slotblock.core.tokens import loggable_path

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


def _never(_: BaseException) -> bool:
    return False


class Failures:
    def __init__(
        self,
        app: ASGIApp,
        *,
        outage: Callable[[BaseException], bool] = _never,
        retry_after_seconds: int = 5,
    ) -> None:
        self.app = app
        self.outage = outage
        self.retry_after_seconds = retry_after_seconds
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
        except Exception as exc:  # noqa: BLE001 - the last line of defence: answer, log once
            answer = self._answer(exc, scope)
            if not started:
                await answer(scope, receive, send)

    def _answer(self, exc: Exception, scope: Scope) -> Response:
        kind = type(exc).__name__
        request_id = scope.get("state", {}).get("request_id", "-")
        if not isinstance(exc, SlotblockError) and self.outage(exc):
            if self.traceback_due(f"outage {kind}"):
                log.warning(
                    "database unavailable (%s: %s) on %s %s (request id %s); answered 503",
                    kind, exc, scope["method"], loggable_path(scope["path"]), request_id,
                )  # fmt: skip
            exc = Unavailable("the database is unavailable; retry later")
        if isinstance(exc, SlotblockError):
            return domain_error_response(exc, self.retry_after_seconds)
        log.error(
            "unhandled %s on %s %s (request id %s)", kind, scope["method"],
            loggable_path(scope["path"]),
            request_id, exc_info=exc if self.traceback_due(kind) else None,
        )  # fmt: skip
        return error_response(500, "Internal server error")
