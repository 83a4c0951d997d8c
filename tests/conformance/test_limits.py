"""Size limits over a real socket: a body past the limit is 413, headers past it 431, both
in the official error shape, and nothing is stored."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest

from slotblock.config import Settings
from tests.conftest import Tenant, seed_tenants, snapshot_url
from tests.live import live_server


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[str, Tenant]]:
    [tenant] = asyncio.run(seed_tenants(database_url))
    settings = Settings(database_url=database_url, max_body_bytes=4096, max_header_bytes=2048)
    with live_server(settings) as base:
        yield base, tenant


def test_body_limit(served: tuple[str, Tenant], database_url: str) -> None:
    base, tenant = served
    before = asyncio.run(snapshot_url(database_url))
    body = {"locationId": tenant.location_id, "calendarId": tenant.calendar_id, "title": "x" * 5000,
            "startTime": "2024-01-01T10:00:00Z", "endTime": "2024-01-01T11:00:00Z"}  # fmt: skip
    response = httpx.post(
        f"{base}/calendars/events/block-slots", json=body, headers=tenant.headers()
    )
    assert response.status_code == 413
    assert response.json() == {
        "statusCode": 413,
        "message": "request body is larger than 4096 bytes",
        "error": "Payload Too Large",
    }
    body["title"] = "x" * 3000
    assert (
        httpx.post(
            f"{base}/calendars/events/block-slots", json=body, headers=tenant.headers()
        ).status_code
        == 201
    )
    assert asyncio.run(snapshot_url(database_url)) != before


def test_streamed_body_without_length_is_counted(served: tuple[str, Tenant]) -> None:
    base, tenant = served

    def chunks() -> Iterator[bytes]:
        yield b'{"locationId": "' + tenant.location_id.encode() + b'", "title": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    response = httpx.post(
        f"{base}/calendars/events/block-slots", content=chunks(), headers=tenant.headers()
    )
    assert response.status_code == 413
    assert response.json()["statusCode"] == 413


def test_header_limit(served: tuple[str, Tenant]) -> None:
    base, tenant = served
    headers = {**tenant.headers(), "X-Padding": "p" * 3000}
    response = httpx.get(f"{base}/healthz", headers=headers)
    assert response.status_code == 431
    assert response.json() == {
        "statusCode": 431,
        "message": "request headers are larger than 2048 bytes",
        "error": "Request Header Fields Too Large",
    }


def test_malformed_length(served: tuple[str, Tenant]) -> None:
    base, _ = served
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /calendars/groups HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{}"
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")
