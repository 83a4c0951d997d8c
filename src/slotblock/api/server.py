"""uvicorn, configured from Settings: the timeouts and limits of the HTTP edge.

* `header_timeout_seconds`: a connection that has not sent a request's complete headers in
  time (a new one, or a keep-alive one that started the next request) is closed — idle or
  trickling clients cannot hold sockets for ever;
* `body_timeout_seconds`: the longest pause between parts of a body (`BodyTimeout`, 408);
* `keep_alive_seconds`: idle keep-alive connections are closed after it;
* `body_deadline_seconds`: the longest a whole body may take, however it trickles (408);
* `max_connections`: connections plus requests in flight; past it uvicorn answers 503;
* `max_connections_per_client`: open connections of one client address (an IPv6 /64)
  in this process; past it a new connection is answered 429 and closed, so that one client
  cannot take every connection of `max_connections` (slow sockets) from the others. The
  trusted proxies are exempt (their connections carry many clients);
* `forwarded_allow_ips`: X-Forwarded-For/-Proto are honoured only from these addresses
  (127.0.0.1 by default: a proxy on the same machine).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from typing import Any, ClassVar

import orjson
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


def client_key(peer: Any) -> str | None:
    """Whom a connection counts against: its IPv4 address, or the /64 network of its IPv6
    address (one host usually holds a whole /64); None for a peer without an address."""
    if not isinstance(peer, tuple) or not peer:
        return None
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _trusted(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in entries:
        try:
            networks.append(
                ipaddress.ip_network("0.0.0.0/0" if entry == "*" else entry, strict=False)
            )
        except ValueError:
            continue  # a name uvicorn may use (a Unix socket): no address to exempt
    if "*" in entries:
        networks.append(ipaddress.ip_network("::/0"))
    return networks


class _ClientLimit:
    """Mixed into a uvicorn protocol: at most `per_client` open connections per client
    address in this process (0: no limit); the connection past it gets a 429 in the official
    shape and is closed before anything of it is read."""

    per_client = 0
    trusted: ClassVar[list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    retry_after_seconds = 5
    open_connections: ClassVar[Counter[str]] = Counter()  # per process: one event loop
    _counted: str | None = None
    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        key = client_key(transport.get_extra_info("peername")) if self.per_client else None
        if key is None or self._is_trusted(key):
            return
        if self.open_connections[key] >= self.per_client:
            transport.write(self._refusal())
            transport.close()
            return
        self.open_connections[key] += 1
        self._counted = key

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted is not None:
            self.open_connections[self._counted] -= 1
            if self.open_connections[self._counted] <= 0:
                del self.open_connections[self._counted]
            self._counted = None
        super().connection_lost(exc)  # type: ignore[misc]

    def _is_trusted(self, key: str) -> bool:
        if not self.trusted:
            return False
        address = ipaddress.ip_network(key, strict=False).network_address
        return any(address in network for network in self.trusted)

    def _refusal(self) -> bytes:
        message = f"more than {self.per_client} open connections from this address; retry later"
        body = orjson.dumps({"statusCode": 429, "message": message, "error": "Too Many Requests"})
        head = (
            "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nretry-after: {self.retry_after_seconds}\r\n"
            "connection: close\r\n\r\n"
        )
        return head.encode() + body


class GuardedHTTP(_ClientLimit, _HeaderDeadline, _Fast):  # type: ignore[misc]
    """uvicorn's fastest HTTP/1.1 protocol with the per-client connection limit and the
    header deadline. A module-level class, so that worker processes (`serve --workers N`)
    can import it; `uvicorn_options` sets the limits of the process it runs in."""


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's keyword arguments for the edge limits of `settings`."""
    allowed = [ip.strip() for ip in settings.forwarded_allow_ips.split(",") if ip.strip()]
    GuardedHTTP.header_timeout = settings.header_timeout_seconds
    GuardedHTTP.per_client = settings.max_connections_per_client
    GuardedHTTP.trusted = _trusted(allowed)
    GuardedHTTP.retry_after_seconds = settings.retry_after_seconds
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
