"""Webhooks that cannot be turned against the node, on each backend: subscriptions refused
inside the network and capped per location, deliveries checked again when sent, answers read
only up to a cap, finished outbox rows deleted after their retention, and an outbox row that
keeps the one event it delivers (rows queued in the earlier format still delivered)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from slotblock.api.schemas import event_json
from slotblock.config import Settings
from slotblock.core.errors import Unprocessable
from slotblock.core.model import Block
from slotblock.service.container import Services
from slotblock.service.webhook_events import CREATE, UPDATE
from slotblock.service.webhooks import WebhookService
from slotblock.service.workers.webhook_dispatcher import DAY_MS, Dispatcher
from slotblock.store import Store
from slotblock.store import webhooks as webhook_store
from slotblock.store.tables import outbox
from slotblock.store.webhooks import DEAD, DELIVERED, PENDING, Webhook
from tests.api.calls import create, delete, edit
from tests.changes.receiver import Receiver, receiving
from tests.conftest import Clock, Tenant

pytestmark = pytest.mark.anyio
ADMIN_TOKEN = "sba-test-admin-token-0002"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CAP = 3
LOCAL = {"outbound_allow_networks": "127.0.0.0/8"}  # for a receiver on this machine
MIB = 1024 * 1024
DAY_9 = {"startTime": "2023-04-03T09:00:00+05:30", "endTime": "2023-04-03T09:30:00+05:30"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The defaults (public destinations only), a small cap, a dispatcher run by hand."""
    return Settings(
        database_url=database_url,
        pool_size=2,
        admin_token=ADMIN_TOKEN,
        webhook_max_per_location=CAP,
        webhook_dispatch=False,
        webhook_timeout_seconds=5,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as the_receiver:
        yield the_receiver


def dispatcher(store: Store, settings: Settings, clock: Clock, **more: Any) -> Dispatcher:
    return Dispatcher(store, settings.model_copy(update=more), clock, event_json)


async def subscribe_local(
    store: Store, settings: Settings, clock: Clock, t: Tenant, url: str
) -> str:
    """A subscription to a receiver on this machine, as an operator who allows it makes it."""
    allowing = WebhookService(store, settings.model_copy(update=LOCAL), clock)
    return (await allowing.add(t.location_id, url)).id


async def rows(store: Store) -> list[Any]:
    async with store.read() as conn:
        return list((await conn.execute(outbox.select().order_by(outbox.c.id))).all())


# --- subscriptions --------------------------------------------------------------------------

INSIDE = [
    "http://127.0.0.1:5432/",
    "http://127.0.0.1:6379/",
    "http://localhost:8000/_admin/reset",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://0/x",
    "http://2130706433/x",
    "http://0x7f000001/x",
    "http://127.1/x",
]


async def test_a_url_inside_the_network_is_refused_422_and_nothing_is_stored(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    for url in INSIDE:
        body = {"locationId": tenant.location_id, "url": url}
        own = await client.post("/calendars/webhooks", json=body, headers=tenant.headers())
        assert own.status_code == 422, (url, own.text)
        assert "outbound calls may not reach it" in own.json()["message"][0]
        admin = await client.post("/_admin/webhooks", json=body, headers=ADMIN)
        assert admin.status_code == 422, (url, admin.text)
    assert await services.webhooks.list_all(tenant.location_id) == []


async def test_a_malformed_url_is_400_with_every_problem(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for url, problem in (
        ("http://hooks.example.com/x\r\nX-Injected: 1", "control characters or whitespace"),
        ("https://admin:pw@hooks.example.com/x", "user name or password"),
        ("gopher://hooks.example.com/", "http:// or https://"),
    ):
        body = {"locationId": tenant.location_id, "url": url, "events": ["Nope"]}
        bad = await client.post("/calendars/webhooks", json=body, headers=tenant.headers())
        assert bad.status_code == 400, bad.text
        assert len(bad.json()["message"]) == 2 and problem in bad.json()["message"][1]


async def test_a_location_holds_at_most_the_cap_of_subscriptions(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant
) -> None:
    def hook(t: Tenant, n: int) -> dict[str, str]:
        return {"locationId": t.location_id, "url": f"https://hooks.example.com/{n}"}

    made = []
    for n in range(CAP):
        answer = await client.post(
            "/calendars/webhooks", json=hook(tenant, n), headers=tenant.headers()
        )
        assert answer.status_code == 201
        made.append(answer.json()["id"])
    over = await client.post("/calendars/webhooks", json=hook(tenant, 9), headers=tenant.headers())
    assert over.status_code == 422
    assert over.json()["message"] == [
        f"a location may hold at most {CAP} webhook subscriptions; remove one first"
    ]
    assert (
        await client.post("/_admin/webhooks", json=hook(tenant, 9), headers=ADMIN)
    ).status_code == 422
    assert (
        await client.post("/_admin/webhooks", json=hook(other, 1), headers=ADMIN)
    ).status_code == 201
    await client.delete(f"/calendars/webhooks/{made[0]}", headers=tenant.headers())
    again = await client.post("/calendars/webhooks", json=hook(tenant, 9), headers=tenant.headers())
    assert again.status_code == 201
    assert Settings().webhook_max_per_location == 50


async def test_concurrent_subscribes_stop_at_the_cap(services: Services, tenant: Tenant) -> None:
    tries = [
        services.webhooks.add(tenant.location_id, f"https://hooks.example.com/{n}")
        for n in range(3 * CAP)
    ]
    results = await asyncio.gather(*tries, return_exceptions=True)
    assert sum(isinstance(r, Webhook) for r in results) == CAP
    assert all(isinstance(r, Webhook | Unprocessable) for r in results), results
    assert len(await services.webhooks.list_all(tenant.location_id)) == CAP


# --- deliveries -----------------------------------------------------------------------------


async def test_a_destination_refused_at_delivery_is_dead_lettered_never_contacted(
    store: Store, settings: Settings, clock: Clock, client: httpx.AsyncClient, tenant: Tenant,
    receiver: Receiver,
) -> None:  # fmt: skip
    """A subscription made while the operator allowed the network (or before the guard):
    once the network is no longer allowed, its deliveries are refused."""
    await subscribe_local(store, settings, clock, tenant, receiver.url)
    await create(client, tenant, **DAY_9)
    strict = dispatcher(store, settings, clock)
    assert await strict.run_once() == 1
    await strict.stop()
    [row] = await rows(store)
    assert row.state == DEAD and receiver.attempts == 0
    assert row.last_error.startswith("destination refused: url host 127.0.0.1 is a loopback")


async def test_a_receivers_huge_answer_is_not_read(
    store: Store, settings: Settings, clock: Clock, client: httpx.AsyncClient, tenant: Tenant,
    receiver: Receiver,
) -> None:  # fmt: skip
    await subscribe_local(store, settings, clock, tenant, receiver.url)
    receiver.answer_bytes = 256 * MIB
    await create(client, tenant, **DAY_9)
    sending = dispatcher(store, settings, clock, **LOCAL)
    assert await sending.run_once() == 1
    await sending.stop()
    [row] = await rows(store)
    assert row.state == DELIVERED
    last = -1
    while receiver.sent_bytes != last:  # until the receiver's socket refuses the rest
        last = receiver.sent_bytes
        await asyncio.sleep(0.2)
    assert receiver.sent_bytes < 32 * MIB
    assert Settings().webhook_answer_bytes == 4096


# --- retention ------------------------------------------------------------------------------


async def test_finished_rows_are_deleted_after_their_retention_in_batches(
    store: Store, settings: Settings, clock: Clock, tenant: Tenant
) -> None:
    async with store.begin() as conn:
        await webhook_store.insert_webhook(
            conn, Webhook(tenant.location_id, "hook1", "https://hooks.example.com/", (CREATE,), 0)
        )
    t0 = clock.now_ms

    async def queued(state: str, finished_ms: int | None) -> None:
        async with store.begin() as conn:
            await webhook_store.enqueue(conn, tenant.location_id, "b", CREATE, {"v": 1}, 0)
            [row_id] = (await conn.execute(sa.select(sa.func.max(outbox.c.id)))).scalars()
            if finished_ms is not None:
                await webhook_store.finish(conn, row_id, state, finished_ms, None)

    for _ in range(5):
        await queued(DELIVERED, t0)
    await queued(DELIVERED, t0 + DAY_MS * 3 // 2)
    for _ in range(3):
        await queued(DEAD, t0)
    await queued(PENDING, None)
    async with store.begin() as conn:  # one bounded batch
        assert await webhook_store.prune_finished(conn, DELIVERED, t0 + 1, 2) == 2

    def states(found: list[Any]) -> list[str]:
        return sorted(r.state for r in found)

    pruning = dispatcher(store, settings, clock, webhook_prune_batch=2)
    clock.now_ms = t0 + 2 * DAY_MS
    await pruning.prune()
    assert states(await rows(store)) == [DEAD, DEAD, DEAD, DELIVERED, PENDING]
    clock.now_ms = t0 + 8 * DAY_MS
    await pruning.prune()
    assert states(await rows(store)) == [PENDING]  # a pending delivery is never pruned
    defaults = Settings()
    assert (defaults.webhook_delivered_retention_days, defaults.webhook_dead_retention_days) == (
        1,
        7,
    )
    assert defaults.webhook_prune_batch == 1000


# --- what the outbox keeps ------------------------------------------------------------------


async def test_an_instance_event_keeps_the_instance_not_the_series(
    store: Store, settings: Settings, clock: Clock, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await subscribe_local(store, settings, clock, tenant, "http://127.0.0.1:9/hook")
    series = await create(client, tenant, **DAY_9, rrule="RRULE:FREQ=DAILY;COUNT=60")
    sizes = []
    for day in range(30):
        original = 1680492600000 + day * DAY_MS
        edited = await edit(
            client, tenant, f"{series['id']}_{original}_1800", description="d" * 2000
        )
        assert edited.status_code == 201, edited.text
        sizes.append(len(orjson.dumps((await rows(store))[-1].event)))
    first, last = sizes[0], sizes[-1]
    assert last < 4000 and last - first < 100, sizes  # not 30 overrides of 2,000 characters
    event = (await rows(store))[-1].event
    assert event["v"] == 1 and event["scope"] == "instance"
    assert event["event"]["texts"]["description"] == "d" * 2000


@dataclass
class Node:
    store: Store
    settings: Settings
    clock: Clock
    client: httpx.AsyncClient
    tenant: Tenant
    services: Services


@pytest.fixture
def node(
    store: Store, settings: Settings, clock: Clock, client: httpx.AsyncClient, tenant: Tenant,
    services: Services,
) -> Node:  # fmt: skip
    return Node(store, settings, clock, client, tenant, services)


async def test_rows_queued_in_the_earlier_format_are_still_delivered_the_same(
    node: Node, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each write queues its event twice: as this release does, and as the release before
    it did (`asdict(Block)`); both are delivered with the same body."""
    store, settings, clock, client, tenant = (
        node.store, node.settings, node.clock, node.client, node.tenant
    )  # fmt: skip
    await subscribe_local(store, settings, clock, tenant, receiver.url)
    changes = node.services.blocks.changes
    record = changes.record

    async def twice(conn: Any, before: Block | None, after: Block | None,
                    event_id: str | None = None, *, instance_deleted: bool = False) -> None:  # fmt: skip
        await record(conn, before, after, event_id, instance_deleted=instance_deleted)
        kind, legacy = _legacy_record(before, after, event_id, clock.now_ms, instance_deleted)
        block = after or before
        assert block is not None
        await webhook_store.enqueue(conn, block.location_id, block.id, kind, legacy, clock.now_ms)

    monkeypatch.setattr(changes, "record", twice)
    series = await create(client, tenant, **DAY_9, rrule="RRULE:FREQ=DAILY;COUNT=5", title="s")
    second = f"{series['id']}_{1680492600000 + DAY_MS}_1800"
    await edit(client, tenant, second, title="moved", startTime="2023-04-04T11:00:00+05:30",
               endTime="2023-04-04T11:45:00+05:30")  # fmt: skip
    await edit(client, tenant, f"{series['id']}_{1680492600000 + 2 * DAY_MS}_1800", notes="n")
    await edit(client, tenant, second, address="a")  # the override edited again
    await delete(client, tenant, f"{series['id']}_{1680492600000 + 3 * DAY_MS}_1800")
    await edit(client, tenant, series["id"], title="renamed")
    await delete(client, tenant, series["id"])
    queued = await rows(store)
    assert [("v" in r.event) for r in queued] == [True, False] * 7
    sending = dispatcher(store, settings, clock, **LOCAL)
    while await sending.run_once():
        pass
    await sending.stop()
    bodies = [d.json for d in receiver.received]
    assert len(bodies) == 14
    for new, old in zip(bodies[::2], bodies[1::2], strict=True):
        assert int(old.pop("webhookId")) == int(new.pop("webhookId")) + 1
        assert new == old
    assert [b["type"] for b in bodies[::2]][:2] == [CREATE, UPDATE]
    assert bodies[2]["blockedSlot"]["title"] == "moved"
    assert (
        bodies[6]["blockedSlot"]["address"] == "a" and bodies[6]["blockedSlot"]["title"] == "moved"
    )


def _legacy_record(
    before: Block | None, after: Block | None, event_id: str | None, now_ms: int, deleted: bool
) -> tuple[str, dict[str, Any]]:
    """What the outbox kept before the versioned payload (the whole block)."""
    original = int(event_id.split("_")[1]) if event_id and "_" in event_id else None
    if original is not None:
        kind = "BlockedSlotDelete" if deleted else UPDATE
        block = before if deleted else after
        scope = "instance"
    else:
        kind = CREATE if before is None else "BlockedSlotDelete" if after is None else UPDATE
        block = after or before
        assert block is not None
        scope = "series" if block.rrule is not None else "single"
    assert block is not None
    return kind, {"scope": scope, "original": original, "at": now_ms, "block": asdict(block)}


async def test_a_payload_of_a_newer_release_is_left_for_it_not_dead_lettered(
    store: Store, settings: Settings, clock: Clock, tenant: Tenant
) -> None:
    """During a rolling upgrade a node may claim a row that a newer node queued: it retries
    it (a newer node sends it), instead of dead-lettering it."""
    await subscribe_local(store, settings, clock, tenant, "http://127.0.0.1:9/hook")
    async with store.begin() as conn:
        await webhook_store.enqueue(conn, tenant.location_id, "b", CREATE, {"v": 2}, clock())
    older = dispatcher(store, settings, clock, **LOCAL)
    assert await older.run_once() == 1
    await older.stop()
    [row] = await rows(store)
    assert row.state == PENDING and row.attempts == 1
    assert row.last_error == "outbox payload version 2 is not known to this release"
