"""The HTTP edge: standard headers, no Host-built redirect, repeated parameters, messages
without validator internals, 503 with Retry-After and quiet logs when the database is
gone, SQL parameters kept out of errors, and the server's header and body timeouts."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from slotblock.api.app import create_app
from slotblock.api.server import uvicorn_config
from slotblock.config import Settings
from slotblock.store import Store, open_store
from tests.conftest import Tenant
from tests.hardening.helpers import client_with
from tests.live import eventually, free_port

pytestmark = pytest.mark.anyio


async def test_json_answers_carry_the_standard_headers(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for answer in (
        await client.get(
            "/calendars/", params={"locationId": tenant.location_id}, headers=tenant.headers()
        ),
        await client.get("/calendars/", params={"locationId": tenant.location_id}),
        await client.get("/nowhere"),
    ):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"


async def test_calendars_without_slash_is_served_not_redirected(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.headers(), "Host": "evil.example"}
    listed = await client.get(
        "/calendars", params={"locationId": tenant.location_id}, headers=headers
    )
    assert listed.status_code == 200
    assert "location" not in listed.headers
    made = await client.post(
        "/calendars", json={"locationId": tenant.location_id, "name": "n"}, headers=headers
    )
    assert made.status_code == 200
    other = await client.get("/calendars/groups/", headers=headers)
    assert "evil.example" not in other.headers.get("location", "")


async def test_repeated_query_parameter_is_a_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    query = (
        f"locationId={tenant.location_id}&calendarId=a&calendarId={tenant.calendar_id}"
        "&startTime=0&endTime=1000"
    )
    answer = await client.get(f"/calendars/blocked-slots?{query}", headers=tenant.headers())
    assert answer.status_code == 400
    assert answer.json()["message"] == ["calendarId must be given once, not repeated"]


async def test_400_messages_name_the_official_field_only(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for rrule in (5, [5], {"a": 1}):
        body = {
            "locationId": tenant.location_id,
            "calendarId": tenant.calendar_id,
            "startTime": "2023-04-03T09:30:00+05:30",
            "endTime": "2023-04-03T10:00:00+05:30",
            "rrule": rrule,
        }
        answer = await client.post(
            "/calendars/events/block-slots", json=body, headers=tenant.headers()
        )
        assert answer.status_code == 400
        for message in answer.json()["message"]:
            assert message.split(" ")[0] in ("rrule", "rrule.0"), message
            assert "[" not in message and "function" not in message, message


@pytest.fixture
def unreachable(settings: Settings, tmp_path: Path) -> Settings:
    """Settings whose database cannot be opened or reached."""
    if settings.database_url.startswith("sqlite"):
        (tmp_path / "a-directory.db").mkdir()
        return settings.model_copy(
            update={"database_url": f"sqlite:///{tmp_path / 'a-directory.db'}"}
        )
    return settings.model_copy(
        update={"database_url": f"postgresql://postgres@127.0.0.1:{free_port()}/x"}
    )


async def test_database_outage_is_a_503_with_retry_after_and_quiet_logs(
    unreachable: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(unreachable.database_url, pool_size=1)
    app = create_app(unreachable, store)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    headers = {"Authorization": "Bearer pit-x", "Version": "2021-07-28"}
    params = {"locationId": "l"}
    try:
        with caplog.at_level(logging.INFO):
            async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
                answers = [
                    await client.get("/calendars/groups", params=params, headers=headers)
                    for _ in range(5)
                ]
    finally:
        await store.dispose()
        # aiosqlite stops the thread of a connection that failed to open when it is
        # collected: collect it while this test's event loop still runs.
        gc.collect()
        await asyncio.sleep(0.05)
    assert [a.status_code for a in answers] == [503] * 5
    assert answers[0].headers["retry-after"] == "5"
    assert answers[0].json()["statusCode"] == 503
    assert sum(1 for r in caplog.records if r.exc_info) <= 1


async def test_the_lean_route_answers_an_outage_as_the_route_does(unreachable: Settings) -> None:
    """The usual blocked-slots query is answered before the router (the lean route) or by
    it: either way a 503 says to retry after SLOTBLOCK_RETRY_AFTER_SECONDS."""
    headers = {"Authorization": "Bearer pit-x", "Version": "2021-07-28"}
    params = {"locationId": "l", "calendarId": "c", "startTime": "0", "endTime": "1000"}
    answers = []
    for lean_route in (True, False):
        changed = unreachable.model_copy(
            update={"retry_after_seconds": 9, "lean_query_route": lean_route}
        )
        store = open_store(changed.database_url, pool_size=1)
        transport = httpx.ASGITransport(app=create_app(changed, store))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
                answers.append(
                    await client.get("/calendars/blocked-slots", params=params, headers=headers)
                )
        finally:
            await store.dispose()
            gc.collect()  # as above: while this test's event loop still runs
            await asyncio.sleep(0.05)
    lean, routed = answers
    assert (lean.status_code, lean.headers["retry-after"]) == (503, "9")
    assert (lean.status_code, lean.headers["retry-after"], lean.content) == (
        routed.status_code,
        routed.headers["retry-after"],
        routed.content,
    )


async def test_unexpected_errors_answer_500_and_log_one_traceback(
    settings: Settings, store: Store, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    async with client_with(settings, store) as (client, services):

        async def broken(*_: object) -> None:
            raise RuntimeError("bug")

        services.calendars.list_groups = broken  # type: ignore[method-assign,assignment]
        with caplog.at_level(logging.INFO):
            answers = [
                await client.get(
                    "/calendars/groups",
                    params={"locationId": tenant.location_id},
                    headers=tenant.headers(),
                )
                for _ in range(5)
            ]
    assert [a.status_code for a in answers] == [500] * 5
    assert sum(1 for r in caplog.records if r.exc_info) == 1


async def test_sql_parameter_values_stay_out_of_errors(store: Store) -> None:
    secret = "secret-value-5f2c"
    with pytest.raises(Exception) as caught:
        async with store.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO no_such_table (x) VALUES (?)"
                if store.is_sqlite
                else "INSERT INTO no_such_table (x) VALUES ($1)",
                (secret,),
            )
    assert secret not in str(caught.value)


@contextmanager
def edge_server(settings: Settings) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn_config(create_app(settings), settings, "127.0.0.1", port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False


def test_slow_headers_are_cut_off(settings: Settings) -> None:
    changed = settings.model_copy(update={"header_timeout_seconds": 0.5})
    with (
        edge_server(changed) as port,
        socket.create_connection(("127.0.0.1", port)) as idle,
        socket.create_connection(("127.0.0.1", port)) as trickle,
    ):
        trickle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert _closed_within(idle, 5)
        assert _closed_within(trickle, 5)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200


def test_stalled_body_is_answered_408(settings: Settings) -> None:
    changed = settings.model_copy(update={"body_timeout_seconds": 0.5})
    with edge_server(changed) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /calendars/events/block-slots HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 408")


def test_connections_past_the_limit_get_503(settings: Settings) -> None:
    changed = settings.model_copy(update={"max_connections": 2})
    with (
        edge_server(changed) as port,
        socket.create_connection(("127.0.0.1", port)),
        socket.create_connection(("127.0.0.1", port)),
    ):
        # refused once the server has taken both connections in
        status = eventually(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code,
            lambda found: found == 503,
        )
        assert status == 503


def test_forwarded_headers_only_from_configured_proxies(settings: Settings) -> None:
    app = create_app(settings)
    local = uvicorn_config(app, settings, "127.0.0.1", 1)  # the default: a proxy on this host
    assert local.proxy_headers is True
    assert local.forwarded_allow_ips == ["127.0.0.1"]
    nobody = settings.model_copy(update={"forwarded_allow_ips": ""})
    closed = uvicorn_config(app, nobody, "127.0.0.1", 1)
    assert closed.proxy_headers is False
    trusting = settings.model_copy(update={"forwarded_allow_ips": "10.0.0.1, 10.0.0.2"})
    opened = uvicorn_config(app, trusting, "127.0.0.1", 1)
    assert opened.proxy_headers is True
    assert opened.forwarded_allow_ips == ["10.0.0.1", "10.0.0.2"]
