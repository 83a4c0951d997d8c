"""The control plane's middleware: fault injection and the request log, for every request
but those to /_admin/ and the health probes; and /_admin/ hidden (404) while the admin API
is off. A pure ASGI middleware: while the admin API is off it costs one cached check (no
database access at all). While it is on, every request but the health probes first brings
this process up to date with the stored control plane (the clock, and the fault rules when
their stamp moved: one read), and each observed request is logged with one write.

The request id logged is, in order: `request.state.request_id` (set by a request-id
middleware inside this one), the response's `X-Request-Id`, the request's, or a new one.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotblock.api.errors import error_response
from slotblock.core.connection_address import redacted_body
from slotblock.core.faults import ADMIN_PREFIX, EXEMPT_PATHS, FaultRule, RequestFacts, exempt
from slotblock.core.oauth import redacted_form
from slotblock.core.tokens import loggable_path
from slotblock.toolkit.service.control_plane import ControlPlane
from slotblock.toolkit.service.request_log import RequestRecord

log = logging.getLogger("slotblock.admin")
_ERROR_BODY_BYTES = 65_536


@dataclass
class _Exchange:
    """What one request sent and received, as far as the log keeps it."""

    body_limit: int
    body: bytearray = field(default_factory=bytearray)
    body_size: int = 0
    more_body: bool = True
    status: int = 0
    response_id: str | None = None
    error_body: bytearray = field(default_factory=bytearray)

    def received(self, message: Message) -> None:
        self.more_body = message["type"] == "http.request" and message.get("more_body", False)
        chunk = message.get("body", b"")
        self.body_size += len(chunk)
        room = self.body_limit - len(self.body)
        if room > 0:
            self.body += chunk[:room]

    def sent(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            for name, value in message.get("headers", ()):
                if name.lower() == b"x-request-id":
                    self.response_id = value.decode("latin-1")
        elif message["type"] == "http.response.body" and self.status >= 400:
            room = _ERROR_BODY_BYTES - len(self.error_body)
            if room > 0:
                self.error_body += message.get("body", b"")[:room]

    def error(self) -> str | list[str] | None:
        if self.status < 400:
            return None
        try:
            message = orjson.loads(self.error_body).get("message")
        except (orjson.JSONDecodeError, AttributeError):
            return self.error_body.decode("utf-8", "replace") or None
        return message if isinstance(message, str | list) else None


class ControlMiddleware:
    def __init__(self, app: ASGIApp, *, control: ControlPlane) -> None:
        self.app = app
        self.control = control
        self._operations: list[tuple[str, re.Pattern[str], str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        admin = path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")
        # On an admin path, a gate that cannot be checked (the database unreachable) is
        # the answer: the failure goes on to be answered 503; elsewhere the request is
        # served without faults or logging.
        enabled = await self.control.gate.enabled() if admin else await self._enabled()
        if not enabled and admin:
            await error_response(404, "Cannot find that route")(scope, receive, send)
            return
        if not enabled or path in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        await self.control.sync()
        if exempt(path):
            await self.app(scope, receive, send)
            return
        await self._observed(scope, receive, send)

    async def _enabled(self) -> bool:
        try:
            return await self.control.gate.enabled()
        except Exception:  # noqa: BLE001 - an unreachable database: /readyz reports it
            return False

    async def _observed(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = _Exchange(self.control.log.body_bytes)
        started, wall_ms = time.perf_counter(), time.time_ns() // 1_000_000
        scope.setdefault("state", {})

        async def logged_receive() -> Message:
            message = await receive()
            exchange.received(message)
            return message

        logged = False

        async def record() -> None:
            nonlocal logged
            if not logged and self.control.log.enabled:
                logged = True
                await self._log(scope, exchange, wall_ms, time.perf_counter() - started)

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                # An answer given without reading the body (404, 401, a fault): read what
                # the log keeps of it now, while the server still delivers it.
                while exchange.more_body and exchange.body_size <= exchange.body_limit:
                    exchange.received(await receive())
            exchange.sent(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                # Logged before the client has the whole answer: whatever the client does
                # next (a reset, a read of the log) sees this request.
                await record()
            await send(message)

        try:
            rule = await self._fault(scope)
            if rule is None:
                await self.app(scope, logged_receive, logged_send)
            else:
                await self._apply(rule, scope, logged_receive, logged_send)
        finally:
            await record()

    async def _fault(self, scope: Scope) -> FaultRule | None:
        if not self.control.faults.armed:
            return None
        try:
            return await self._pick(scope)
        except Exception:  # an unreachable database: the request answers 503 itself
            log.warning(
                "cannot apply fault rules to %s", loggable_path(scope["path"]), exc_info=True
            )
            return None

    async def _pick(self, scope: Scope) -> FaultRule | None:
        faults = self.control.faults
        token_id = location_id = None
        if faults.needs_caller:
            caller = await self.control.caller_of(_header(scope, b"authorization"))
            token_id, location_id = caller or (None, _query(scope).get("locationId", [None])[0])
        facts = RequestFacts(
            method=scope["method"],
            path=scope["path"],
            operation_id=self._operation_id(scope) if faults.needs_operation else None,
            location_id=location_id,
            token_id=token_id,
        )
        return await faults.pick(facts)

    async def _apply(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        """The rule's action in place of the application (or before it, for latency alone)."""
        action = rule.action
        if action.latency_ms:
            await asyncio.sleep(action.latency_ms / 1000)
        if action.drop:
            # Headers, then the connection closes before the body: the server gives up
            # mid-response, and the client sees a broken connection, not an answer.
            start = [(b"content-type", b"application/json"), (b"content-length", b"64")]
            await send({"type": "http.response.start", "status": 500, "headers": start})
            return
        if action.status is None:
            await self.app(scope, receive, send)
            return
        headers = action.rate_limit_headers() if action.status == 429 else None
        response = error_response(action.status, action.message, headers)
        await response(scope, receive, send)

    def _operation_id(self, scope: Scope) -> str | None:
        if self._operations is None:
            self._operations = operations(scope["app"])
        return _operation_id(scope, self._operations)

    async def _log(self, scope: Scope, exchange: _Exchange, wall_ms: int, seconds: float) -> None:
        try:
            await self._write_log(scope, exchange, wall_ms, seconds)
        except Exception:  # the answer stands whether or not it was logged
            log.warning("cannot log a request to %s", loggable_path(scope["path"]), exc_info=True)

    async def _write_log(
        self, scope: Scope, exchange: _Exchange, wall_ms: int, seconds: float
    ) -> None:
        caller = await self.control.caller_of(_header(scope, b"authorization"))
        request_id = (
            scope["state"].get("request_id")
            or exchange.response_id
            or _header(scope, b"x-request-id")
            or uuid.uuid4().hex
        )
        record = RequestRecord(
            time_ms=wall_ms,
            method=scope["method"],
            path=loggable_path(scope["path"]),
            query=scope.get("query_string", b"").decode("latin-1"),
            status=exchange.status,
            duration_ms=seconds * 1000,
            request_id=str(request_id),
            token_id=caller[0] if caller else None,
            body=_loggable(scope["path"], bytes(exchange.body)),
            body_size=max(exchange.body_size, _declared_size(scope)),
            error=exchange.error(),
        )
        await self.control.log.add(record)


def _loggable(path: str, body: bytes) -> bytes:
    """The body as the log may keep it: an OAuth form without its secrets, a connected
    calendar without its password and with its address redacted (the request log keeps no
    secret in clear, as the token stores keep hashes only)."""
    if path.startswith("/oauth/"):
        return redacted_form(body)
    return redacted_body(body) if path == "/calendars/connections" else body


def _operation_id(scope: Scope, known: list[tuple[str, re.Pattern[str], str]]) -> str | None:
    """The operationId of the route the request will take (the first that matches, as
    the router's order and the OpenAPI document's are the same)."""
    for method, pattern, operation_id in known:
        if method == scope["method"] and pattern.fullmatch(scope["path"]):
            return operation_id
    return None


def operations(app: Any) -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path pattern, operationId) of every operation, in the router's order."""
    return [
        (method.upper(), compile_path(path)[0], operation["operationId"])
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    ]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def _declared_size(scope: Scope) -> int:
    declared = _header(scope, b"content-length") or ""
    return int(declared) if declared.isdigit() else 0


def _query(scope: Scope) -> dict[str, list[str]]:
    return parse_qs(scope.get("query_string", b"").decode("latin-1"))
