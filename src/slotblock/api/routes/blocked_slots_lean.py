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

The outcome of reading a query string — the validated query, or "the route answers it" — is
kept by the raw bytes (`ParsedQueries`, `parsed_query_cache_bytes`), so that a repeated
request skips `parse_qsl` and the model's validation. Both outcomes are kept, so that a stream
of distinct refused queries is bounded as the usual ones are; a kept query is frozen, shared
by every request that sends the same bytes. The cache is its own: the long tail of distinct
windows evicts only other query strings.
"""

from __future__ import annotations

from typing import Any, Literal
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
from slotblock.core.bounded_cache import BoundedCache, text_bytes

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


# A kept outcome: the validated query, or False when the route answers the query string.
Outcome = ZonedBlockedSlotsQuery | Literal[False]

# An entry beside its characters (the query string's, and the kept query's field values):
# the key's bytes header, the map's slot, the (value, size) pair and its size, and for a
# query its object, its __dict__, its set of given fields and its values' str headers;
# measured (sys.getsizeof, deep, the shared field names left out) at about 990 bytes with
# four parameters and 1,650 with all seven (the set of given fields grows past four). A
# refused query string keeps only the key, the slot and the pair: about 220. Checked whole
# (tracemalloc over 5,000 entries): 1,135 bytes an entry of four parameters (charged 1,875),
# 1,935 of seven (charged 2,014), 272 a refused one (charged 327).
QUERY_ENTRY_BYTES = 1_700
REFUSED_ENTRY_BYTES = 250


def entry_bytes(query_string: bytes, q: ZonedBlockedSlotsQuery | None) -> int:
    """What an entry of `ParsedQueries` takes, high."""
    if q is None:
        return REFUSED_ENTRY_BYTES + len(query_string)
    values = (q.location_id, q.user_id, q.calendar_id, q.group_id, q.start_time, q.end_time,
              q.timeZone)  # fmt: skip
    return QUERY_ENTRY_BYTES + len(query_string) + text_bytes("".join(filter(None, values)))


class ParsedQueries:
    """`usual_query`'s outcome by the raw query string, least recently used out past
    `max_bytes` (0: every query string read again)."""

    def __init__(self, max_bytes: int) -> None:
        self.cache: BoundedCache[Outcome] = BoundedCache(max_bytes)
        self.on = max_bytes > 0

    def __call__(self, query_string: bytes) -> ZonedBlockedSlotsQuery | None:
        if not self.on:
            return usual_query(query_string)
        found = self.cache.get(query_string)
        if found is None:
            q = usual_query(query_string)
            kept: Outcome = False if q is None else q
            self.cache.put(query_string, kept, entry_bytes(query_string, q))
            return q
        return None if found is False else found


class LeanBlockedSlots:
    """ASGI middleware, innermost: answers the usual blocked-slots query itself."""

    def __init__(
        self,
        app: ASGIApp,
        fastapi: FastAPI,
        retry_after_seconds: int = 5,
        queries: ParsedQueries | None = None,
    ) -> None:
        self.app = app
        self.fastapi = fastapi
        self.retry_after_seconds = retry_after_seconds
        self.queries = ParsedQueries(0) if queries is None else queries
        # the route object the router puts in the scope, for the access log and the metrics
        self.route = next(
            r for r in router.routes if isinstance(r, APIRoute) and r.operation_id == OPERATION
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        q = self.queries(scope["query_string"])
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


def install(app: FastAPI, retry_after_seconds: int, parsed_query_cache_bytes: int) -> None:
    """Innermost of the middleware: after every other one, just before the router. A 503
    says to retry after `retry_after_seconds`, as the app's error handlers do. The parsed
    queries' cache goes to `app.state.parsed_queries` (for the metrics)."""
    queries = ParsedQueries(parsed_query_cache_bytes)
    app.state.parsed_queries = queries
    app.user_middleware.append(
        Middleware(
            LeanBlockedSlots,
            fastapi=app,
            retry_after_seconds=retry_after_seconds,
            queries=queries,
        )
    )
