"""The rate limits at the HTTP edge: around authentication, the headers, 429.

The limiter lives in `app.state.rate_limiter`; the headers of the answer are left in
`request.state.rate_limit_headers`, where the observability middleware puts them on the
answer, whatever its status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException

from slotblock.api import metrics
from slotblock.config import Settings
from slotblock.core.errors import Unauthenticated
from slotblock.core.model import Principal
from slotblock.service.container import wall_clock_ms
from slotblock.service.rate_limits import ALLOWED, RateLimiter, Verdict, open_rate_limiter

T = TypeVar("T")


def install(app: FastAPI, settings: Settings) -> None:
    app.state.rate_limiter = open_rate_limiter(settings, wall_clock_ms)


async def close(app: FastAPI) -> None:
    limiter: RateLimiter = app.state.rate_limiter
    await limiter.counters.close()


def client_address(request: Request) -> str:
    """The peer (as uvicorn rewrote it from X-Forwarded-For when the proxy is trusted)."""
    return request.client.host if request.client else "unknown"


def _keep(request: Request, verdict_headers: dict[str, str]) -> None:
    request.state.rate_limit_headers = verdict_headers


def _refuse(verdict: Verdict, limit: str) -> HTTPException:
    metrics.RATE_LIMITED.labels(limit).inc()
    return HTTPException(429, verdict.message, {"Retry-After": str(verdict.retry_after_seconds)})


async def failures_limited(
    request: Request,
    authenticate: Callable[[], Awaitable[T]],
    failures: tuple[type[Exception], ...] = (Unauthenticated,),
) -> T:
    """Authenticate within the failed-authentication limit of the client's address: an
    address past it is refused (429) before its token is even checked, and every failure
    of `authenticate` (Unauthenticated; a feed's unknown token is a NotFound) counts against
    it. Any kind of token: a location's, a feed's, or the admin API's."""
    limiter: RateLimiter = request.app.state.rate_limiter
    address = client_address(request)
    verdict = await limiter.before_authentication(address)
    if verdict is not ALLOWED:  # the address has failed before: its bucket is reported
        _keep(request, verdict.headers)
        if not verdict.allowed:
            raise _refuse(verdict, "address")
    try:
        return await authenticate()
    except failures:
        _keep(request, await limiter.authentication_failed(address))
        raise


async def limited(
    request: Request,
    authenticate: Callable[[], Awaitable[Principal]],
    failures: tuple[type[Exception], ...] = (Unauthenticated,),
) -> Principal:
    """Authenticate within the limits: an address that keeps failing is refused before its
    token is looked up; a token past its burst or daily limit is refused after."""
    limiter: RateLimiter = request.app.state.rate_limiter
    principal = await failures_limited(request, authenticate, failures)
    request.state.location_id = principal.location.id
    verdict = await limiter.admit(principal)
    _keep(request, verdict.headers)
    if not verdict.allowed:
        raise _refuse(verdict, "token")
    return principal
