"""`POST /calendars/events/block-slots` without the framework's per-request machinery.

A create answers here, in front of FastAPI's router, with the functions the route uses: the
body model (validated directly), the caller (`Authorization` and `Version` checks, rate
limits), the service, the answer's encoding and ETag, the error bodies. It takes the usual
create only: a JSON body (`Content-Type: application/json`) that the model accepts, no
`Idempotency-Key`. Anything else goes to FastAPI with the body it sent, replayed, before
any counter moved, so that its answer is the route's own: a body FastAPI cannot read or
refuses (422, after the caller's checks, as FastAPI orders them), an idempotent create, a
client gone mid-body. The route stays registered: /openapi.json describes it as before.
Every middleware outside the router (request ids, access log, metrics, rate-limit headers,
size and time limits of the body, the admin control plane) sees this request and its answer
as it sees the route's: the body is read through them.

Errors are answered by the application's own exception handlers, looked up as Starlette's
exception middleware looks them up (`app_handler`); an exception no handler takes goes on up
to `Failures` (500), as it does from the router.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotblock.api.dependencies import caller
from slotblock.api.routes.blocked_slots import create_answer, router
from slotblock.api.schemas import BlockSlotBody

PATH = "/calendars/events/block-slots"
OPERATION = "create-block-slot"
_JSON = b"application/json"


def usual_headers(scope: Scope) -> bool:
    """A JSON body and no Idempotency-Key (FastAPI's route takes everything else)."""
    content_type = None
    for name, value in scope["headers"]:
        if name == b"idempotency-key":
            return False
        if name == b"content-type":
            if content_type is not None:
                return False
            content_type = value
    return content_type is not None and content_type.lower() == _JSON


def usual_body(body: bytes) -> BlockSlotBody | None:
    """The validated body, or None when the route should answer (and explain) it."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict):
        return None
    try:
        return BlockSlotBody.model_validate(parsed)
    except ValidationError:
        return None


def app_handler(fastapi: FastAPI, exc: Exception) -> Any:
    """The app's handler of `exc` (by its class, nearest first), as the router has it."""
    handlers = fastapi.exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


class LeanCreateBlockSlot:
    """ASGI middleware, innermost: answers the usual create of a block itself."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI) -> None:
        self.app = app
        self.fastapi = fastapi
        # the route object the router puts in the scope, for the access log and the metrics
        self.route = next(
            r for r in router.routes if isinstance(r, APIRoute) and r.operation_id == OPERATION
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or not usual_headers(scope)
        ):
            await self.app(scope, receive, send)
            return
        messages, body = await _read(receive)
        replay = _replaying(messages, receive)
        q = None if body is None else usual_body(body)
        if q is None:
            await self.app(scope, replay, send)
            return
        scope["route"] = self.route
        response = await self._answer(q, Request(scope, replay))
        await response(scope, replay, send)

    async def _answer(self, body: BlockSlotBody, request: Request) -> Response:
        state: Any = self.fastapi.state
        try:
            who = await caller(request)
            return await create_answer(body, who, state.services)
        except Exception as exc:
            handler = app_handler(self.fastapi, exc)
            if handler is None:
                raise
            response: Response = await handler(request, exc)
            return response


async def _read(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The request's messages up to its last body part, and the body (None: the client went
    away or something other than a body part came)."""
    messages: list[Message] = []
    parts: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(parts)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """`receive` that gives `messages` again first (the body, as it came), then the rest."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def install(app: FastAPI) -> None:
    """Innermost of the middleware: after every other one, just before the router."""
    app.user_middleware.append(Middleware(LeanCreateBlockSlot, fastapi=app))
