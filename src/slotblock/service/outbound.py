"""The one way slotblock calls out to a URL someone gave it (webhook receivers; calendar
feeds later): the URL is checked when it is given, and again, on every address its host
resolves to, at every call.

    policy = OutboundPolicy.from_settings(settings)
    policy.check_url(url)          # when the URL is given: 400 malformed, 422 refused
    client = OutboundClient(policy, timeout_s=10)
    answer = await client.request("POST", url, content=body, headers=h, read_bytes=4096)
    answer.status, answer.head     # at most `read_bytes` of the body were read
    await client.aclose()

A URL is http(s), with a host, without userinfo, control characters or whitespace. Its
destination must be public (core/addresses.py): loopback, private, link-local, unique-local,
multicast, unspecified and reserved addresses — in any spelling — and names that stand for
them (`localhost`, cloud metadata names) are refused unless the operator allows their
network (`SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS`); a name that only resolves inside a network
(one label, `.internal`, `.local`…) is refused unless the operator allows some network.

At a call the host is resolved once and every address is checked (a name that resolves to a
public and a private address is refused: DNS rebinding); the request then goes to the
checked address itself — the URL's host replaced by it, the Host header and TLS (SNI and the
certificate check) keeping the name — so no second resolution can swap it. Redirects are
not followed, proxy and credential settings of the environment are not used, connections are
not kept alive (a pooled connection would be shared by the names of one address), and the
connection is closed once `read_bytes` of the answer are read.

A call fails with DestinationRefused (the URL, or an address it resolves to, is refused:
trying again will not help) or Unreachable (no address, no connection, a timeout, a broken
answer: worth trying again later).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import unicodedata
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import httpx

from slotblock.config import Settings
from slotblock.core.addresses import (
    IPAddress,
    IPNetwork,
    denoted_addresses,
    host_address,
    is_internal_name,
    parse_networks,
    refusal,
)
from slotblock.core.errors import InvalidInput, Unprocessable

__all__ = [
    "Answer",
    "DestinationRefused",
    "OutboundClient",
    "OutboundError",
    "OutboundPolicy",
    "Unreachable",
]

MAX_URL_LENGTH = 2048


class _NoRequestLines(logging.Filter):
    """httpx logs every request's URL ("HTTP Request: GET <url>", at INFO): the URLs this
    module calls can be credentials of their own (a calendar's secret address), so that
    line is never logged (no log line of this module names a URL's path either)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("HTTP Request:")


logging.getLogger("httpx").addFilter(_NoRequestLines())
Resolve = Callable[[str, int], Awaitable[Sequence[IPAddress]]]


class OutboundError(Exception):
    """A call that could not be made or answered."""


class DestinationRefused(OutboundError):
    """The URL, or an address its host resolves to, may not be called."""


class Unreachable(OutboundError):
    """No address, no connection, a timeout or a broken answer: try again later."""


class _Refused(Exception):
    def __init__(self, message: str, *, malformed: bool) -> None:
        super().__init__(message)
        self.malformed = malformed


@dataclass(frozen=True)
class Answer:
    status: int
    head: bytes  # the first bytes of the body, at most the `read_bytes` asked for
    bytes_read: int  # what was taken from the connection (at most one read past the cap)
    headers: tuple[tuple[str, str], ...] = ()  # names lower-cased

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name.lower()), None)


REDIRECTS = (301, 302, 303, 307, 308)


class OutboundPolicy:
    """Which URLs may be called: public destinations, and the operator's allowed networks."""

    def __init__(self, allowed: Sequence[IPNetwork] = ()) -> None:
        self.allowed = tuple(allowed)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        return cls(parse_networks(settings.outbound_allow_networks))

    def check_url(self, url: str) -> str:
        """`url`, when it may be called; InvalidInput (400) when it is malformed,
        Unprocessable (422) when its destination is refused."""
        try:
            self.parse(url)
        except _Refused as exc:
            raise (InvalidInput if exc.malformed else Unprocessable)(str(exc)) from exc
        return url

    def parse(self, url: str) -> httpx.URL:
        """The URL as the client sends it; _Refused when it may not be called."""
        if len(url) > MAX_URL_LENGTH:
            raise _Refused(f"url must be at most {MAX_URL_LENGTH} characters", malformed=True)
        if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
            raise _Refused("url must not contain control characters or whitespace", malformed=True)
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError) as exc:
            raise _Refused(f"url is not a valid URL ({exc})", malformed=True) from exc
        if parsed.scheme not in ("http", "https") or not parsed.raw_host:
            raise _Refused("url must be an http:// or https:// URL with a host", malformed=True)
        if parsed.userinfo:
            raise _Refused("url must not contain a user name or password", malformed=True)
        self._check_host(parsed.raw_host.decode("ascii"))
        return parsed

    def _check_host(self, host: str) -> None:
        try:
            address = host_address(host)
        except ValueError as exc:
            raise _Refused(f"url host {host} is not a valid address", malformed=True) from exc
        if address is not None:
            self.check_address(host, address)
            return
        for denoted in denoted_addresses(host):
            self.check_address(host, denoted)
        if is_internal_name(host) and not self.allowed:
            raise _Refused(
                f"url host {host} is a name of an internal network: outbound calls may "
                "not reach it",
                malformed=False,
            )

    def check_address(self, host: str, address: IPAddress) -> None:
        reason = refusal(address, self.allowed)
        if reason is not None:
            spelled = "" if host == str(address) else f" ({address})"
            raise _Refused(
                f"url host {host}{spelled} is a {reason} address: outbound calls may not reach it",
                malformed=False,
            )


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses the system resolver gives for `host`, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


class OutboundClient:
    """Sends requests to checked destinations only (see the module's docstring)."""

    def __init__(
        self, policy: OutboundPolicy, *, timeout_s: float, resolve: Resolve = system_resolve
    ) -> None:
        self.policy = policy
        self.timeout_s = timeout_s
        self.resolve = resolve
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        read_bytes: int,
    ) -> Answer:
        """Send one request within the timeout (all of it: resolution, connection, answer)
        and read at most `read_bytes` of the answer's body."""
        try:
            async with asyncio.timeout(self.timeout_s):
                target, addresses = await self._destination(url)
                return await self._send_to_one(
                    method, target, addresses, content, dict(headers or {}), read_bytes
                )
        except TimeoutError as exc:
            raise Unreachable(f"no answer within {self.timeout_s:g} s") from exc

    async def _destination(self, url: str) -> tuple[httpx.URL, list[IPAddress]]:
        try:
            target = self.policy.parse(url)
        except _Refused as exc:
            raise DestinationRefused(str(exc)) from exc
        host = target.raw_host.decode("ascii")
        literal = host_address(host)
        if literal is not None:
            return target, [literal]
        try:
            addresses = list(await self.resolve(host, target.port or _port(target)))
        except OSError as exc:  # socket.gaierror: no such name, or no answer
            raise Unreachable(f"{host} does not resolve: {exc}") from exc
        if not addresses:
            raise Unreachable(f"{host} resolves to no address")
        try:
            for address in addresses:
                self.policy.check_address(host, address)
        except _Refused as exc:
            raise DestinationRefused(str(exc)) from exc
        return target, addresses

    async def _send_to_one(
        self,
        method: str,
        target: httpx.URL,
        addresses: list[IPAddress],
        content: bytes | None,
        headers: dict[str, str],
        read_bytes: int,
    ) -> Answer:
        """The answer of the first address that takes the connection."""
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._send(method, target, address, content, headers, read_bytes)
            except httpx.ConnectError as exc:
                failure = exc
            except httpx.TransportError as exc:
                raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        raise Unreachable(f"{type(failure).__name__}: {failure}") from failure

    async def _send(
        self,
        method: str,
        target: httpx.URL,
        address: IPAddress,
        content: bytes | None,
        headers: dict[str, str],
        read_bytes: int,
    ) -> Answer:
        host = target.raw_host.decode("ascii")
        extensions = {}
        if target.scheme == "https" and host_address(host) is None:
            extensions["sni_hostname"] = host  # the certificate is checked against the name
        request = self.client.build_request(
            method,
            target.copy_with(host=str(address)),
            content=content,
            headers={**headers, "Host": target.netloc.decode("ascii")},
            extensions=extensions,
        )
        response = await self.client.send(request, stream=True)
        try:
            head, read = await _read_head(response, read_bytes)
        finally:
            await response.aclose()
        received = tuple((k.lower(), v) for k, v in response.headers.items())
        return Answer(response.status_code, head, read, received)

    async def following(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        read_bytes: int,
        max_redirects: int = 5,
    ) -> Answer:
        """`request`, following up to `max_redirects` redirects: each new URL is checked
        as the first was (a redirect to a refused destination is DestinationRefused), and a
        303 turns the request into a GET without body."""
        for _ in range(max_redirects + 1):
            answer = await self.request(
                method, url, content=content, headers=headers, read_bytes=read_bytes
            )
            location = answer.header("location")
            if answer.status not in REDIRECTS or not location:
                return answer
            url = str(httpx.URL(url).join(location))
            if answer.status == 303:
                method, content = "GET", None
        raise Unreachable(f"more than {max_redirects} redirects")


async def _read_head(response: httpx.Response, limit: int) -> tuple[bytes, int]:
    """The first `limit` bytes of the body, and how many bytes were taken to get them;
    the rest is never read (the connection is closed)."""
    if limit <= 0:
        return b"", 0
    head = bytearray()
    read = 0
    chunks = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    try:
        async for chunk in chunks:
            read += len(chunk)
            head += chunk[: limit - len(head)]
            if read >= limit:
                break
    finally:
        await chunks.aclose()
    return bytes(head), read


def _port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80
