"""A CalDAV collection of 50 events on real servers (Radicale, Xandikos), synced through a
counting loopback proxy: after the first full read, a sync reads only the resources the
sync token says changed (one `calendar-multiget` naming them), a deleted resource's block
goes, a moved event keeps its block, and a token the server no longer knows falls back to
a full read that stays correct. The limits hold on the incremental path too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from slotblock.config import Settings
from slotblock.service.connection_sync import ConnectionSync
from slotblock.service.container import Services
from slotblock.store import Store
from slotblock.store.tables import calendar_connections, connection_resources
from tests.conftest import Clock, Tenant
from tests.connections.counting_proxy import Exchange, counting
from tests.connections.test_caldav_peers import free_port, peer, put, remove, servers
from tests.connections.test_connections_api import (
    KEY,
    blocked,
    changes_count,
    document,
    settings,
    sync,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
__all__ = ["KEY", "peer", "settings"]
EVENTS = 50


def event(i: int, title: str | None = None, description: str = "") -> bytes:
    day, hour = 1 + i // 2, 8 + (i % 2) * 2
    return document(
        f"BEGIN:VEVENT\nUID:event-{i}@example.com\nDTSTAMP:20261201T000000Z\n"
        f"DTSTART:202701{day:02d}T{hour:02d}0000Z\nDTEND:202701{day:02d}T{hour + 1:02d}0000Z\n"
        f"SUMMARY:{title or f'Event {i}'}\n"
        + (f"DESCRIPTION:{description}\n" if description else "")
        + "END:VEVENT\n"
    )


async def loaded(url: str, auth: Any) -> None:
    for i in range(EVENTS):
        await put(url, auth, f"e{i:02d}.ics", event(i))


async def connect(client: httpx.AsyncClient, tenant: Tenant, url: str, auth: Any) -> str:
    body = {"locationId": tenant.location_id, "userId": tenant.user_id, "url": url}
    body |= {"type": "caldav"} | ({"username": auth[0], "password": auth[1]} if auth else {})
    made = await client.post("/calendars/connections", json=body, headers=tenant.headers())
    assert made.status_code == 201, made.text
    connection_id: str = made.json()["id"]
    return connection_id


def kinds(seen: list[Exchange]) -> list[str]:
    """Each request as its method, or the REPORT it is."""
    names = ("sync-collection", "calendar-multiget", "calendar-query")
    return [
        next((n for n in names if n.encode() in e.body), e.method) if e.method == "REPORT"
        else e.method
        for e in seen
    ]  # fmt: skip


def named(report: Exchange) -> list[str]:
    """The resource names a calendar-multiget asks for."""
    return [
        h.rsplit("/", 1)[-1] for h in re.findall(r"<d:href>([^<]+)</d:href>", report.body.decode())
    ]


async def titles(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    return {
        str(e["id"]): str(e["title"]) for e in await blocked(client, tenant, userId=tenant.user_id)
    }


async def test_after_one_edit_of_fifty_only_that_resource_is_read(
    client: httpx.AsyncClient, tenant: Tenant, peer: tuple[str, Any], store: Store
) -> None:
    url, auth = peer
    await loaded(url, auth)
    with counting(url) as proxy:
        connection = await connect(client, tenant, proxy.url, auth)
        first = await sync(client, tenant, connection)
        assert first["lastError"] is None and first["events"] == EVENTS, first
        full = proxy.take()
        assert kinds(full) == ["PROPFIND", "calendar-query"]
        assert full[-1].answer.count(b"BEGIN:VEVENT") == EVENTS
        before, ids = await changes_count(store), await titles(client, tenant)
        assert len(ids) == EVENTS

        await sync(client, tenant, connection)  # unchanged: one small REPORT, nothing written
        assert kinds(proxy.take()) == ["sync-collection"]
        assert await changes_count(store) == before

        await put(url, auth, "e07.ics", event(7, "Event 7 in the big room"))
        edited = await sync(client, tenant, connection)
        seen = proxy.take()
        assert kinds(seen) == ["sync-collection", "calendar-multiget"]
        assert named(seen[1]) == ["e07.ics"]  # exactly the changed resource, not 50
        assert seen[1].answer.count(b"BEGIN:VEVENT") == 1
        assert len(seen[1].answer) * 20 < len(full[-1].answer)
        now = await titles(client, tenant)
        assert now.keys() == ids.keys() and edited["events"] == EVENTS
        assert {k: v for k, v in now.items() if ids[k] != v} == {
            k: "Event 7 in the big room" for k, v in ids.items() if v == "Event 7"
        }
        assert await changes_count(store) == before + 1

        await remove(url, auth, "e08.ics")  # a delete: its block goes, nothing read
        gone = await sync(client, tenant, connection)
        assert kinds(proxy.take()) == ["sync-collection"]
        assert gone["events"] == EVENTS - 1
        left = await titles(client, tenant)
        assert "Event 8" not in left.values() and len(left) == EVENTS - 1
        assert await changes_count(store) == before + 2

        await remove(url, auth, "e09.ics")  # moved to another resource: the same block
        await put(url, auth, "moved.ics", event(9))
        await sync(client, tenant, connection)
        seen = proxy.take()
        assert kinds(seen) == ["sync-collection", "calendar-multiget"]
        assert named(seen[1]) == ["moved.ics"]
        assert await titles(client, tenant) == left and await changes_count(store) == before + 2
    async with store.read() as conn:
        hrefs = (await conn.execute(sa.select(connection_resources.c.href))).scalars().all()
    assert len(hrefs) == EVENTS - 1 and any(h.endswith("/moved.ics") for h in hrefs)


async def test_a_token_the_server_no_longer_knows_falls_back_to_a_full_read(
    client: httpx.AsyncClient, tenant: Tenant, peer: tuple[str, Any], store: Store
) -> None:
    url, auth = peer
    await loaded(url, auth)
    with counting(url) as proxy:
        connection = await connect(client, tenant, proxy.url, auth)
        await sync(client, tenant, connection)
        token = await stored_token(store)
        assert token
        ids, before = await titles(client, tenant), await changes_count(store)
        await put(url, auth, "e03.ics", event(3, "Event 3 later"))
        await remove(url, auth, "e04.ics")
        async with store.begin() as conn:  # as after a server's token expiry
            await conn.execute(sa.update(calendar_connections).values(sync_token=token + "x"))
        proxy.take()
        state = await sync(client, tenant, connection)
        seen = proxy.take()
        assert state["lastError"] is None and state["events"] == EVENTS - 1, state
        assert kinds(seen) == ["sync-collection", "PROPFIND", "calendar-query"]
        assert 400 <= seen[0].status < 500  # the server's refusal of the token
        now = await titles(client, tenant)
        assert set(now) < set(ids) and "Event 3 later" in now.values()
        assert "Event 4" not in now.values()
        assert await changes_count(store) == before + 2  # the edit and the delete, no more
        await put(url, auth, "e05.ics", event(5, "Event 5 later"))
        await sync(client, tenant, connection)  # incremental again from the new token
        seen = proxy.take()
        assert kinds(seen) == ["sync-collection", "calendar-multiget"]
        assert named(seen[1]) == ["e05.ics"]


async def stored_token(store: Store) -> str:
    async with store.read() as conn:
        token = (await conn.execute(sa.select(calendar_connections.c.sync_token))).scalar_one()
    return str(token or "")


async def test_the_limits_hold_on_the_incremental_path(
    client: httpx.AsyncClient,
    tenant: Tenant,
    peer: tuple[str, Any],
    services: Services,
    settings: Settings,
    clock: Clock,
) -> None:
    url, auth = peer
    await loaded(url, auth)
    connection_id = await connect(client, tenant, url, auth)
    await sync(client, tenant, connection_id)
    ids = await titles(client, tenant)
    limited = ConnectionSync(
        services.store,
        settings.model_copy(update={"connection_max_bytes": 8000, "connection_max_events": EVENTS}),
        clock,
    )
    try:
        await put(url, auth, "e50.ics", event(50))  # the 51st event
        found = await services.connections.find(connection_id)
        state = await limited.sync(found)
        assert state.last_error == f"ImportRefused: the calendar holds more than {EVENTS} events"
        await remove(url, auth, "e50.ics")
        await put(url, auth, "e07.ics", event(7, "Big", description="x" * 9000))
        state = await limited.sync(state)
        assert state.last_error is not None and "larger than 8000 bytes" in state.last_error
        assert await titles(client, tenant) == ids  # the last good sync's blocks stay
    finally:
        await limited.aclose()
    state = await services.connections.syncer.sync(state)
    assert state.last_error is None and "Big" in (await titles(client, tenant)).values()


async def test_one_uid_in_two_resources_on_a_real_server(
    client: httpx.AsyncClient, tenant: Tenant, tmp_path: Path, store: Store
) -> None:
    """Radicale refuses a PUT of a UID another resource holds (RFC 4791 no-uid-conflict),
    but a collection on disk may hold one anyway (files copied in): the first href's event
    is the block, in an incremental read as in a full one, and when it goes the other's
    event takes its block back."""
    pytest.importorskip("radicale")
    root = tmp_path / "radicale"
    with servers.radicale(root, free_port()) as (url, auth):
        await loaded(url, auth)
        with counting(url) as proxy:
            connection = await connect(client, tenant, proxy.url, auth)
            await sync(client, tenant, connection)
            ids = await titles(client, tenant)
            [three] = [k for k, v in ids.items() if v == "Event 3"]
            folder = root / "collection-root" / "bench" / "calendar"
            (folder / "dup.ics").write_bytes(event(3, "Event 3 copied"))  # "dup" < "e03"
            proxy.take()
            await sync(client, tenant, connection)
            seen = proxy.take()
            assert kinds(seen) == ["sync-collection", "calendar-multiget", "calendar-multiget"]
            assert [named(s) for s in seen[1:]] == [["dup.ics"], ["e03.ics"]]
            assert await titles(client, tenant) == ids | {three: "Event 3 copied"}
            (folder / "dup.ics").unlink()
            await sync(client, tenant, connection)
            assert [named(s) for s in proxy.take()[1:]] == [["e03.ics"]]
            assert await titles(client, tenant) == ids
            async with store.begin() as conn:  # a full read agrees
                await conn.execute(sa.update(calendar_connections).values(sync_token=None))
            (folder / "dup.ics").write_bytes(event(3, "Event 3 copied"))
            await sync(client, tenant, connection)
            assert kinds(proxy.take()) == ["PROPFIND", "calendar-query"]
            assert await titles(client, tenant) == ids | {three: "Event 3 copied"}
