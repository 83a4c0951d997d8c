"""The syncer inside serve: due connections are synced, each once per interval; two nodes
against one database never sync one connection twice at once (PostgreSQL: SKIP LOCKED;
SQLite: one syncer per database file)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from slotblock.config import Settings
from slotblock.service.connection_sync import ConnectionSync
from slotblock.service.container import Services
from slotblock.service.workers.connection_syncer import ConnectionSyncer
from slotblock.store import Store, open_store
from tests.conftest import Clock, Tenant
from tests.connections.calendar_server import CalendarHost, hosting
from tests.connections.test_connections_api import HOLIDAY, MEETING, document, settings

pytestmark = pytest.mark.anyio
__all__ = ["settings"]


@pytest.fixture
def host() -> Iterator[CalendarHost]:
    with hosting(document(MEETING.format(title="Review"), HOLIDAY)) as served:
        yield served


async def connect(client: httpx.AsyncClient, tenant: Tenant, url: str) -> str:
    body = {"locationId": tenant.location_id, "userId": tenant.user_id, "url": url}
    made = await client.post("/calendars/connections", json=body, headers=tenant.headers())
    assert made.status_code == 201, made.text
    connection_id: str = made.json()["id"]
    return connection_id


@pytest.fixture
async def mine(services: Services) -> AsyncIterator[ConnectionSyncer]:
    syncer = ConnectionSyncer(services.connections.syncer, batch=2)
    yield syncer
    await syncer.stop()


@pytest.fixture
async def node(settings: Settings, clock: Clock) -> AsyncIterator[ConnectionSyncer]:
    """A second node's syncer: its own store (pool) on the same database."""
    other = open_store(settings.database_url, pool_size=2)
    syncer = ConnectionSyncer(ConnectionSync(other, settings, clock), batch=2)
    yield syncer
    await syncer.stop()
    await other.dispose()


async def test_due_connections_are_synced_once_per_interval(
    client: httpx.AsyncClient,
    tenant: Tenant,
    host: CalendarHost,
    mine: ConnectionSyncer,
    clock: Clock,
    settings: Settings,
) -> None:
    connection_id = await connect(client, tenant, host.url)
    assert await mine.run_once() == 1
    assert await mine.run_once() == 0  # not due again before the interval
    clock.now_ms += int(settings.connection_sync_seconds * 1000)
    assert await mine.run_once() == 1
    assert host.statuses == [200, 304]
    read = await client.get(f"/calendars/connections/{connection_id}", headers=tenant.headers())
    assert read.json()["lastSuccess"] == clock.now_ms and read.json()["events"] == 2


async def test_two_nodes_never_sync_one_connection_twice_at_once(
    client: httpx.AsyncClient,
    tenant: Tenant,
    host: CalendarHost,
    mine: ConnectionSyncer,
    node: ConnectionSyncer,
    store: Store,
) -> None:
    for _ in range(6):
        await connect(client, tenant, host.url)
    host.hang_s = 0.2  # both nodes are mid-sync at the same time
    done = {"mine": 0, "node": 0}
    for _ in range(10):
        mine_count, node_count = await asyncio.gather(mine.run_once(), node.run_once())
        done["mine"] += mine_count
        done["node"] += node_count
        if sum(done.values()) >= 6:
            break
    assert sum(done.values()) == 6, done
    assert len(host.statuses) == 6  # each calendar read once, by one node
    if store.is_sqlite:
        assert done["node"] == 0  # one syncer per database file
    else:
        assert done["node"] > 0 and done["mine"] > 0, done  # SKIP LOCKED: both took a share
