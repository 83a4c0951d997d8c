"""Connected CalDAV calendars on real servers, Radicale and Xandikos, started on loopback:
events PUT as their clients do; edits, cancellations and deletes seen at the next sync; an
unchanged collection costs one sync-collection REPORT and changes nothing."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.connections.test_connections_api import (
    FREE,
    HOLIDAY,
    KEY,
    MEETING,
    blocked,
    changes_count,
    document,
    settings,
    sync,
)

servers = pytest.importorskip("tests.connections.caldav_servers")
pytestmark = [pytest.mark.anyio, pytest.mark.slow]
__all__ = ["KEY", "settings"]
Serve = Callable[..., AbstractContextManager[tuple[str, Any]]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(params=["radicale", "xandikos"])
def peer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    pytest.importorskip(request.param)
    serve: Serve = getattr(servers, request.param)
    with serve(tmp_path / request.param, free_port()) as (url, auth):
        yield url, auth


async def put(url: str, auth: Any, name: str, body: bytes) -> None:
    """As a CalDAV client stores an event: PUT of one calendar object resource."""
    async with httpx.AsyncClient(auth=auth) as dav:
        answer = await dav.put(url + name, content=body, headers={"content-type": "text/calendar"})
    assert answer.status_code in (201, 204), answer.text


async def remove(url: str, auth: Any, name: str) -> None:
    async with httpx.AsyncClient(auth=auth) as dav:
        assert (await dav.delete(url + name)).status_code in (200, 204)


async def test_a_caldav_calendar_syncs_incrementally(
    client: httpx.AsyncClient, tenant: Tenant, peer: tuple[str, Any], store: Any
) -> None:
    url, auth = peer
    await put(url, auth, "meeting.ics", document(MEETING.format(title="Standup")))
    await put(url, auth, "holiday.ics", document(HOLIDAY))
    await put(url, auth, "free.ics", document(FREE))
    body = {
        "locationId": tenant.location_id,
        "userId": tenant.user_id,
        "url": url,
        "type": "caldav",
    }
    if auth:
        body |= {"username": auth[0], "password": auth[1]}
    made = await client.post("/calendars/connections", json=body, headers=tenant.headers())
    assert made.status_code == 201, made.text
    connection = made.json()["id"]
    state = await sync(client, tenant, connection)
    assert state["lastError"] is None and state["source"] == "caldav", state
    events = await blocked(client, tenant, userId=tenant.user_id)
    assert len(events) == 4 and {e["title"] for e in events} == {"Standup", "Holiday"}
    before = await changes_count(store)
    await sync(client, tenant, connection)  # unchanged: nothing written
    assert await changes_count(store) == before
    await put(url, auth, "meeting.ics", document(MEETING.format(title="Standup in the new room")))
    await remove(url, auth, "holiday.ics")
    edited = await sync(client, tenant, connection)
    assert edited["lastError"] is None, edited
    after = await blocked(client, tenant, userId=tenant.user_id)
    assert [e["id"] for e in after] == [e["id"] for e in events if e["title"] == "Standup"]
    assert {e["title"] for e in after} == {"Standup in the new room"}
