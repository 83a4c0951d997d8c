"""`GET /calendars/blocked-slots` without the framework's per-request machinery.

The hottest endpoint answers here, in front of FastAPI's router, with the same functions the
route uses: the query model (validated directly, not through dependency resolution), the
caller (`Version` and `Authorization` checks, rate limits), the service, the error bodies.
Anything unusual — a repeated or missing parameter, a query the model refuses — goes to
FastAPI untouched, before any counter moved, so that its answer is the route's own. The
route stays registered: /openapi.json describes it as before. Every middleware outside the
router (request ids, access log, metrics, rate-limit headers, request limits, the admin
control plane) sees this answer as it sees the route's.

Errors are answered by the application's own exception handlers (`api/errors.py`, with
the configured Retry-After), looked up as Starlette's exception middleware looks them up;
an exception no handler takes goes on up to `Failures` (500), as it does from the router.
So every status, body and header is the route's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from slotblock.api.availability_schemas import ZonedBlockedSlotsQuery
from slotblock.api.dependencies import caller
from slotblock.api.routes.blocked_slots import blocked_slots_answer, router

PATH = "/calendars/blocked-slots"
OPERATION = "get-blocked-slots"


def usual_query(query_string: bytes) -> ZonedBlockedSlotsQuery | None:
    """The validated query, or None when the route should answer (and explain) it."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    params = dict(pairs)
    if len(params) != len(pairs):
        return None
    try:
        return ZonedBlockedSlotsQuery.model_validate(params)
    except ValidationError:
        return None


class LeanBlockedSlots:
    """ASGI middleware, innermost: answers the usual blocked-slots query itself."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI, retry_after_seconds: int = 5) -> None:
        self.app = app
        self.fastapi = fastapi
        self.retry_after_seconds = retry_after_seconds
        # the route object the router puts in the scope, for the access log and the metrics
        self.route = next(
            r for r in router.routes if isinstance(r, APIRoute) and r.operation_id == OPERATION
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        q = usual_query(scope["query_string"])
        if q is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        response = await self._answer(q, Request(scope, receive))
        await response(scope, receive, send)

    async def _answer(self, q: ZonedBlockedSlotsQuery, request: Request) -> Response:
        state: Any = self.fastapi.state
        try:
            who = await caller(request)
            return await blocked_slots_answer(q, who, state.services, state.event_fragments)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            response: Response = await handler(request, exc)
            return response

    def _handler(self, exc: Exception) -> Any:
        """The app's handler of `exc` (by its class, nearest first), as the router has it."""
        handlers = self.fastapi.exception_handlers
        for cls in type(exc).__mro__:
            if cls in handlers:
                return handlers[cls]
        return None


def install(app: FastAPI, retry_after_seconds: int) -> None:
    """Innermost of the middleware: after every other one, just before the router. A 503
    says to retry after `retry_after_seconds`, as the app's error handlers do."""
    app.user_middleware.append(
        Middleware(LeanBlockedSlots, fastapi=app, retry_after_seconds=retry_after_seconds)
    )
