"""Every request gets an id, a line in the access log and its place in the metrics.

`X-Request-Id` is taken from the request when it is a sane token (≤ 128 letters, digits and
`._:-`), generated otherwise; it is `request.state.request_id` for the handlers and is sent
back on every answer, with the rate-limit headers the auth step left in
`request.state.rate_limit_headers` and the standard headers it is given
(`security_headers.py`). The access log has the method, the route template (never the
concrete path, which may carry ids), status, duration, request id and the caller's
location: never a header value, a query string or a body. A pure ASGI middleware.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotblock import logs
from slotblock.api import metrics
from slotblock.api.errors import error_response

crashes = logging.getLogger("slotblock.core.errors")
_SANE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


def incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode() if _SANE_ID.fullmatch(value) else None
    return None


def route_of(scope: Scope) -> tuple[str, str]:
    """(template, operation): the route's path template and operationId, or `unmatched`."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return "unmatched", "unmatched"
    operation = getattr(route, "operation_id", None) or template
    return template, str(operation)


class Observability:
    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: bool,
        sample: Callable[[Scope], None] | None = None,
        headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        self.app = app
        self.headers = tuple(headers)  # added to every answer that does not set them
        self.access_log = access_log
        self.sample = sample
        # The metric children of each (operation, method, status), bound once.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or os.urandom(16).hex()  # 5x uuid4().hex's speed
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        answer: dict[str, int] = {}

        async def stamped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                ours = [(b"x-request-id", request_id.encode("latin-1"))]
                for name, value in state.get("rate_limit_headers", {}).items():
                    ours.append((name.lower().encode("latin-1"), value.encode("latin-1")))
                # ours replace any of the same name the app set; a standard header the app
                # set is kept, the others are added (security_headers.py)
                names = {name for name, _ in ours}
                kept = [h for h in message.get("headers", ()) if h[0].lower() not in names]
                present = {name.lower() for name, _ in kept}
                kept.extend(item for item in self.headers if item[0] not in present)
                message["headers"] = kept + ours
            await send(message)

        logged_as = logs.REQUEST_ID.set(request_id)  # every log line of this request
        try:
            await self.app(scope, receive, stamped_send)
        except Exception:  # noqa: BLE001 - answered 500 below, with the request id
            crashes.exception("unhandled error (request id %s)", request_id)
            if "status" not in answer:
                await error_response(500, "Internal server error")(scope, receive, stamped_send)
        finally:
            self._record(scope, answer.get("status", 500), time.perf_counter() - started)
            logs.REQUEST_ID.reset(logged_as)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        template, operation = route_of(scope)
        key = (operation, scope["method"], status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                metrics.REQUESTS.labels(operation, scope["method"], str(status)),
                metrics.LATENCY.labels(operation),
            )
        children[0].inc()
        children[1].observe(seconds)
        if self.sample is not None:
            self.sample(scope)
        if self.access_log:
            state = scope["state"]
            logs.access(
                (scope["method"], template, status, seconds * 1000),
                {
                    "method": scope["method"],
                    "route": template,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "request_id": state["request_id"],
                    "location_id": state.get("location_id"),
                },
            )
