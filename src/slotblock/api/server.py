"""uvicorn, configured from Settings: the timeouts and limits of the HTTP edge.

* `header_timeout_seconds`: a connection that has not sent a request's complete headers in
  time (a new one, or a keep-alive one that started the next request) is closed — idle or
  trickling clients cannot hold sockets for ever;
* `body_timeout_seconds`: the longest pause between parts of a body (`BodyTimeout`, 408);
* `keep_alive_seconds`: idle keep-alive connections are closed after it;
* `max_connections`: connections plus requests in flight; past it uvicorn answers 503;
* `forwarded_allow_ips`: X-Forwarded-For/-Proto are honoured only from these addresses
  (none by default).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from slotblock.config import Settings

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Fast
except ImportError:  # pragma: no cover - httptools is part of uvicorn[standard]
    _Fast = H11Protocol  # type: ignore[misc,assignment]


class _HeaderDeadline:
    """Mixed into a uvicorn protocol: close the connection when a request's headers take
    longer than `header_timeout` to arrive."""

    header_timeout = 10.0
    _header_timer: asyncio.TimerHandle | None = None
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any

    def _waiting_for_headers(self) -> bool:
        return self.cycle is None or bool(self.cycle.response_complete)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self._waiting_for_headers():
            self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


class GuardedHTTP(_HeaderDeadline, _Fast):  # type: ignore[misc]
    """uvicorn's fastest HTTP/1.1 protocol with the header deadline. A module-level class,
    so that worker processes (`serve --workers N`) can import it; `uvicorn_options` sets the
    deadline of the process it runs in."""


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's keyword arguments for the edge limits of `settings`."""
    GuardedHTTP.header_timeout = settings.header_timeout_seconds
    allowed = [ip.strip() for ip in settings.forwarded_allow_ips.split(",") if ip.strip()]
    return {
        "http": GuardedHTTP,
        "timeout_keep_alive": max(1, round(settings.keep_alive_seconds)),
        "limit_concurrency": settings.max_connections,
        "proxy_headers": bool(allowed),
        "forwarded_allow_ips": allowed or None,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "server_header": False,
    }


def uvicorn_config(app: ASGIApp, settings: Settings, host: str, port: int, **extra: Any) -> Any:
    """The uvicorn.Config that serves `app` with the edge limits of `settings`."""
    return uvicorn.Config(app, host=host, port=port, **uvicorn_options(settings), **extra)
