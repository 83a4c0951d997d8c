"""An anonymous client cannot hold the node, over a real socket: its slow sockets count
against its own address (SLOTBLOCK_MAX_CONNECTIONS_PER_CLIENT), so that well-behaved clients
keep their room within SLOTBLOCK_MAX_CONNECTIONS, and a body trickled one byte at a time is
answered 408 once it has taken SLOTBLOCK_BODY_DEADLINE_SECONDS, however short each pause."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from slotblock.api.server import client_key
from slotblock.config import Settings
from tests.hardening.test_edge import edge_server

SLOW_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"  # and never the blank line


@contextmanager
def slow_sockets(port: int, count: int) -> Iterator[list[socket.socket]]:
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
            sock.sendall(SLOW_HEADERS)
            sockets.append(sock)
        yield sockets


def _first_bytes(sock: socket.socket, seconds: float) -> bytes:
    sock.settimeout(seconds)
    try:
        return sock.recv(4096)
    except TimeoutError:
        return b"(nothing)"
    except ConnectionResetError:
        return b""


def _from(address: str, port: int) -> int:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport) as client:
        return client.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code


def test_one_address_cannot_take_every_connection(settings: Settings) -> None:
    changed = settings.model_copy(
        update={
            "max_connections": 24,
            "max_connections_per_client": 6,
            "header_timeout_seconds": 60,
            "forwarded_allow_ips": "",  # 127.0.0.1 is a client here, not a trusted proxy
        }
    )
    with edge_server(changed) as port, slow_sockets(port, 40) as held:
        time.sleep(0.2)
        assert _from("127.0.0.2", port) == 200  # another client still gets in
        select.select(held[6:], [], [], 2)
        answers = [_first_bytes(sock, 0.05) for sock in held[6:]]
        assert all(a.startswith(b"HTTP/1.1 429") or a == b"" for a in answers), answers[:3]
        assert any(b"open connections from this address" in a for a in answers)
        assert [_first_bytes(sock, 0.01) for sock in held[:6]] == [b"(nothing)"] * 6
    time.sleep(0.2)
    with edge_server(changed) as port:
        assert _from("127.0.0.1", port) == 200  # the count was given back


def test_trusted_proxies_are_not_limited_per_address(settings: Settings) -> None:
    changed = settings.model_copy(
        update={"max_connections_per_client": 2, "forwarded_allow_ips": "127.0.0.1"}
    )
    with edge_server(changed) as port, slow_sockets(port, 5):
        assert _from("127.0.0.1", port) == 200


def test_a_body_trickled_past_the_deadline_is_answered_408(settings: Settings) -> None:
    changed = settings.model_copy(update={"body_timeout_seconds": 1, "body_deadline_seconds": 1})
    with edge_server(changed) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /calendars/events/block-slots HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        answer, started = b"", time.monotonic()
        while not answer and time.monotonic() - started < 5 * 1.0:
            sock.sendall(b" ")  # one byte every 0.25 s: no pause reaches the 1 s timeout
            if select.select([sock], [], [], 0.25)[0]:
                answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"took longer than 1 seconds" in answer


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        (("203.0.113.7", 5000), "203.0.113.7"),
        (("2001:db8:1:2:aaaa::1", 5000, 0, 0), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:bbbb::9", 5000, 0, 0), "2001:db8:1:2::/64"),  # the same host's /64
        (("::ffff:192.0.2.1", 5000, 0, 0), "192.0.2.1"),
        ("/run/slotblock.sock", None),
    ],
)
def test_connections_count_per_ipv4_address_and_ipv6_64(peer: object, key: str | None) -> None:
    assert client_key(peer) == key
