"""What was sent, seen from a test: `/_admin/webhooks/deliveries` (each delivery's exact body,
its signature, its last attempts with status and time; filtered by subscription and event
type; paged), a signed test event, and a dead letter sent again — on both backends, to a
real local receiver, the dispatcher driven round by round."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from slotblock.api.app import create_app
from slotblock.api.schemas import event_json
from slotblock.config import Settings
from slotblock.service.container import Services, build_services, wall_clock_ms
from slotblock.service.webhook_events import CREATE
from slotblock.service.webhooks import new_key_pair
from slotblock.service.workers.webhook_dispatcher import Dispatcher
from slotblock.store import Store
from slotblock.store import webhooks as webhook_store
from slotblock.store.tables import outbox, webhook_attempts
from slotblock.store.webhooks import Webhook
from tests.api.calls import create, edit
from tests.changes.receiver import Receiver, receiving
from tests.conftest import POSTGRESQL, Tenant, make_tenant

pytestmark = pytest.mark.anyio
sdk_logging = pytest.importorskip("highlevel.logging")
sdk_storage = pytest.importorskip("highlevel.storage.memory_session_storage")
sdk_webhooks = pytest.importorskip("highlevel.webhook.webhook_manager")
KEYS = new_key_pair()
ADMIN = {"Authorization": "Bearer sba-test-admin-token-0001"}
SETTINGS = {
    "webhook_signing_key": KEYS.private_pem,
    "webhook_retry_base_seconds": 0.001,
    "webhook_retry_max_seconds": 0.001,
    "webhook_dispatch": False,  # each test runs the dispatcher's rounds itself
    "admin_token": "sba-test-admin-token-0001",
    "outbound_allow_networks": "127.0.0.0/8",  # the receiver listens on this machine
}


def at(hour: int) -> dict[str, str]:
    return {"startTime": f"2023-04-03T{hour:02}:00:00+05:30",
            "endTime": f"2023-04-03T{hour:02}:30:00+05:30"}  # fmt: skip


def sdk_verifies(body: str, signature: str) -> bool:
    manager = sdk_webhooks.WebhookManager(
        sdk_logging.Logger("error"), sdk_storage.MemorySessionStorage(), None
    )
    return bool(manager.verify_ed25519_signature(body, signature, KEYS.public_pem))


@dataclass
class Sending:
    client: httpx.AsyncClient
    tenant: Tenant
    receiver: Receiver
    services: Services
    store: Store
    settings: Settings
    subscription: str

    async def rounds(self, count: int = 1) -> None:
        """`count` rounds of a dispatcher (each sends what is due)."""
        dispatcher = Dispatcher(self.store, self.settings, wall_clock_ms, event_json)
        for _ in range(count):
            await dispatcher.run_once()
        await dispatcher.stop()

    async def deliveries(self, **query: Any) -> dict[str, Any]:
        answer = await self.client.get("/_admin/webhooks/deliveries", params=query, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as the_receiver:
        yield the_receiver


async def _sending(
    database_url: str, store: Store, receiver: Receiver, **more: Any
) -> AsyncIterator[Sending]:
    settings = Settings(database_url=database_url, pool_size=2).model_copy(
        update={**SETTINGS, **more}
    )
    services = build_services(store, settings, wall_clock_ms)
    tenant = await make_tenant(services)
    hook = await services.webhooks.add(tenant.location_id, receiver.url)
    app = create_app(settings, store)
    app.state.services = services
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield Sending(client, tenant, receiver, services, store, settings, hook.id)


@pytest.fixture
async def sending(database_url: str, store: Store, receiver: Receiver) -> AsyncIterator[Sending]:
    async for it in _sending(database_url, store, receiver):
        yield it


async def test_a_delivery_shows_its_body_signature_and_attempts(sending: Sending) -> None:
    s = sending
    s.receiver.plan = [503]  # the first attempt fails, the retry succeeds
    block = await create(s.client, s.tenant, **at(9), title="first")
    await s.rounds(2)
    [shown] = (await s.deliveries())["deliveries"]
    [received] = s.receiver.received
    assert shown["body"] == received.body.decode()  # the exact bytes sent
    assert shown["signature"] == received.headers["x-ghl-signature"]
    assert sdk_verifies(shown["body"], shown["signature"])
    assert orjson.loads(shown["body"])["webhookId"] == str(shown["id"])
    assert (shown["type"], shown["state"], shown["attempts"]) == (
        "BlockedSlotCreate",
        "delivered",
        2,
    )
    assert shown["subscriptionId"] == s.subscription and shown["blockId"] == block["id"]
    first, second = shown["history"]
    assert (first["attempt"], first["status"], first["error"]) == (1, 503, "HTTP 503")
    assert (second["attempt"], second["status"], second["error"]) == (2, 200, None)
    assert first["time"] <= second["time"] <= shown["dateFinished"]
    assert all(
        a["durationMs"] >= 0 and a["signature"] == shown["signature"] for a in (first, second)
    )


async def test_deliveries_filter_by_subscription_and_type_and_page(sending: Sending) -> None:
    s = sending
    other = await s.services.webhooks.add(
        s.tenant.location_id, s.receiver.url, ["BlockedSlotUpdate"]
    )
    block = await create(s.client, s.tenant, **at(9))
    for title in ("b", "c"):
        await edit(s.client, s.tenant, block["id"], title=title)
    await s.rounds(3)  # one per block and subscription at a time, in order
    everything = (await s.deliveries())["deliveries"]
    assert [d["type"] for d in everything if d["subscriptionId"] == s.subscription] == [
        "BlockedSlotUpdate", "BlockedSlotUpdate", "BlockedSlotCreate"
    ]  # fmt: skip
    assert len(everything) == 5
    mine = (await s.deliveries(subscriptionId=other.id))["deliveries"]
    assert [d["subscriptionId"] for d in mine] == [other.id, other.id]
    creates = (await s.deliveries(type="BlockedSlotCreate"))["deliveries"]
    assert [d["id"] for d in creates] == [everything[-1]["id"]]
    both = await s.deliveries(subscriptionId=s.subscription, type="BlockedSlotUpdate")
    assert len(both["deliveries"]) == 2
    page = await s.deliveries(limit=2)
    assert [d["id"] for d in page["deliveries"]] == [d["id"] for d in everything[:2]]
    rest = await s.deliveries(limit=2, before=page["nextBefore"])
    assert [d["id"] for d in rest["deliveries"]] == [d["id"] for d in everything[2:4]]
    last = await s.deliveries(limit=2, before=rest["nextBefore"])
    assert len(last["deliveries"]) == 1 and last["nextBefore"] is None
    assert (await s.deliveries(state="pending"))["deliveries"] == []


async def test_deliveries_refuse_what_they_cannot_show(sending: Sending) -> None:
    s = sending
    get = s.client.get
    assert (await get("/_admin/webhooks/deliveries", params={"limit": 201}, headers=ADMIN)).status_code == 400  # fmt: skip
    assert (await get("/_admin/webhooks/deliveries", params={"type": "Nope"}, headers=ADMIN)).status_code == 400  # fmt: skip
    unknown = await get("/_admin/webhooks/deliveries", params={"subscriptionId": "nope"}, headers=ADMIN)  # fmt: skip
    assert unknown.status_code == 404
    elsewhere = {"subscriptionId": s.subscription, "locationId": "elsewhere"}
    assert (await get("/_admin/webhooks/deliveries", params=elsewhere, headers=ADMIN)).status_code == 404  # fmt: skip
    assert (await get("/_admin/webhooks/deliveries", headers=s.tenant.headers())).status_code == 401  # fmt: skip
    assert (await s.client.post("/_admin/webhooks/nope/test", headers=ADMIN)).status_code == 404
    gone = await s.client.post("/_admin/webhooks/deliveries/999/redeliver", headers=ADMIN)
    assert gone.status_code == 404


async def test_a_test_event_is_sent_signed_to_that_subscription_only(sending: Sending) -> None:
    s = sending
    deletes_only = await s.services.webhooks.add(
        s.tenant.location_id, s.receiver.url, ["BlockedSlotDelete"]
    )
    answer = await s.client.post(f"/_admin/webhooks/{deletes_only.id}/test", headers=ADMIN)
    assert answer.status_code == 202, answer.text
    queued = answer.json()
    assert (queued["type"], queued["subscriptionId"]) == ("WebhookTest", deletes_only.id)
    await s.rounds()
    [received] = s.receiver.received
    assert sdk_verifies(received.body.decode(), received.headers["x-ghl-signature"])
    body = received.json
    assert body["type"] == "WebhookTest" and body["webhookId"] == str(queued["id"])
    assert (body["locationId"], body["subscriptionId"]) == (s.tenant.location_id, deletes_only.id)
    assert body["timestamp"].endswith("Z")
    [shown] = (await s.deliveries(type="WebhookTest"))["deliveries"]
    assert shown["state"] == "delivered" and shown["history"][0]["status"] == 200


async def test_a_dead_letter_is_redelivered_as_it_was(sending: Sending) -> None:
    s = sending
    s.receiver.plan = [400]  # refused: dead-lettered at once
    await create(s.client, s.tenant, **at(9))
    await s.rounds()
    [dead] = (await s.client.get("/_admin/webhooks/dead-letters", headers=ADMIN)).json()[
        "deliveries"
    ]
    redeliver = f"/_admin/webhooks/deliveries/{dead['id']}/redeliver"
    again = await s.client.post(redeliver, headers=ADMIN)
    assert again.status_code == 202, again.text
    assert (await s.client.post(redeliver, headers=ADMIN)).status_code == 409  # pending
    assert (await s.client.get("/_admin/webhooks/dead-letters", headers=ADMIN)).json() == {
        "deliveries": []
    }
    await s.rounds()
    [received] = s.receiver.received
    assert received.json["webhookId"] == str(dead["id"])  # the same delivery, deduplicable
    [shown] = (await s.deliveries())["deliveries"]
    assert shown["state"] == "delivered" and shown["dateRedelivered"] is not None
    assert [a["status"] for a in shown["history"]] == [400, 200]
    assert shown["body"] == received.body.decode()
    # a delivered one may be sent again too (a replay)
    assert (await s.client.post(redeliver, headers=ADMIN)).status_code == 202
    await s.rounds()
    assert [d.json["webhookId"] for d in s.receiver.received] == [str(dead["id"])] * 2


async def test_a_redelivery_is_retried_from_its_own_start(sending: Sending) -> None:
    """A dead letter older than the retry horizon is retried after a redelivery, not
    dead-lettered again at its first failure: the horizon counts from the redelivery."""
    s = sending
    s.receiver.always = 503
    await create(s.client, s.tenant, **at(9))
    async with s.store.begin() as conn:  # queued two days ago
        await conn.execute(outbox.update().values(created_ms=outbox.c.created_ms - 2 * 86_400_000))
    await s.rounds()
    [dead] = (await s.deliveries(state="dead"))["deliveries"]
    assert dead["attempts"] == 1
    await s.client.post(f"/_admin/webhooks/deliveries/{dead['id']}/redeliver", headers=ADMIN)
    await s.rounds()
    [retried] = (await s.deliveries())["deliveries"]
    assert (retried["state"], retried["attempts"]) == ("pending", 2)


async def test_attempts_are_kept_within_their_bound_and_go_with_their_delivery(
    database_url: str, store: Store, receiver: Receiver
) -> None:
    async for s in _sending(database_url, store, receiver, webhook_attempts_kept=2):
        s.receiver.plan = [500, 502, 503]
        await create(s.client, s.tenant, **at(9))
        await s.rounds(4)
        [shown] = (await s.deliveries())["deliveries"]
        assert shown["attempts"] == 4
        assert [(a["attempt"], a["status"]) for a in shown["history"]] == [(3, 503), (4, 200)]
        assert await _attempt_rows(store) == 2
        dispatcher = Dispatcher(store, s.settings, wall_clock_ms, event_json)
        assert await dispatcher.prune_outbox("delivered", wall_clock_ms() + 1) == 1
        assert await _attempt_rows(store) == 0
        # a location's reset takes its attempts too
        await create(s.client, s.tenant, **at(10))
        await s.rounds()
        assert await _attempt_rows(store) == 1
        reset = await s.client.post(
            "/_admin/reset", json={"locationId": s.tenant.location_id}, headers=ADMIN
        )
        assert reset.status_code == 200
        assert await _attempt_rows(store) == 0
    assert Settings().webhook_attempts_kept == 10


async def test_unsubscribing_forgets_the_attempts_of_its_pending_deliveries(
    sending: Sending,
) -> None:
    s = sending
    s.receiver.always = 503
    await create(s.client, s.tenant, **at(9))
    await s.rounds()
    assert await _attempt_rows(s.store) == 1
    removed = await s.client.delete(f"/_admin/webhooks/{s.subscription}", headers=ADMIN)
    assert removed.status_code == 200
    assert await _attempt_rows(s.store) == 0


async def _attempt_rows(store: Store) -> int:
    async with store.read() as conn:
        count = sa.select(sa.func.count()).select_from(webhook_attempts)
        return int((await conn.execute(count)).scalar_one())


async def test_a_delivery_removed_while_it_is_sent_records_nothing(
    database_url: str, store: Store, receiver: Receiver
) -> None:
    async for s in _sending(database_url, store, receiver, webhook_timeout_seconds=0.3):
        s.receiver.hang_s = 1.0  # the attempt times out, as the subscription goes
        await create(s.client, s.tenant, **at(9))
        dispatcher = Dispatcher(store, s.settings, wall_clock_ms, event_json)
        sending = asyncio.create_task(dispatcher.run_once())
        for _ in range(1000):  # until the receiver holds the attempt (10 s at most)
            if s.receiver.attempts:
                break
            await asyncio.sleep(0.01)
        removed = await s.client.delete(f"/_admin/webhooks/{s.subscription}", headers=ADMIN)
        assert removed.status_code == 200
        assert await sending == 1  # its result had no row left to land on: no error
        await dispatcher.stop()
        assert await _attempt_rows(store) == 0
        async with store.read() as conn:
            assert (await conn.execute(sa.select(outbox))).all() == []


@pytest.mark.parametrize("database_url", POSTGRESQL, indirect=True)
async def test_an_unsubscribe_waits_for_an_attempt_being_recorded(
    store: Store, tenant: Tenant
) -> None:
    """The interleaving the test above meets by chance on PostgreSQL, made certain: the
    dispatcher has updated a delivery and inserted its attempt, uncommitted, when the
    subscription is removed. The removal waits for it and deletes that attempt too: no
    attempt outlives its delivery."""
    async with store.begin() as conn:
        hook = Webhook(tenant.location_id, "hook1", "https://hooks.example.com/", (CREATE,), 0)
        await webhook_store.insert_webhook(conn, hook)
        await webhook_store.enqueue(conn, tenant.location_id, "b", CREATE, {"v": 1}, 0)
        [row] = (await conn.execute(sa.select(outbox))).all()
    delivery = webhook_store.Delivery(
        row.id, tenant.location_id, "hook1", "b", CREATE, {"v": 1}, 0, 0, hook.url
    )
    recorded, removing_started = asyncio.Event(), asyncio.Event()
    commit = asyncio.Event()

    async def dispatcher_records() -> None:
        async with store.begin() as conn:
            number = await webhook_store.retry_later(conn, delivery.id, 1, "timed out")
            assert number == 1
            attempt = webhook_store.Attempt(number, 0, 300, None, "timed out", None)
            await webhook_store.record_attempt(conn, delivery, attempt, 10)
            recorded.set()
            await commit.wait()

    async def unsubscribe() -> bool:
        await recorded.wait()
        async with store.begin() as conn:
            removing_started.set()
            return await webhook_store.delete_webhook(conn, "hook1", tenant.location_id)

    recording = asyncio.create_task(dispatcher_records())
    removing = asyncio.create_task(unsubscribe())
    await removing_started.wait()
    await asyncio.sleep(0.3)
    assert not removing.done(), "the removal waits for the delivery's row"
    commit.set()
    await recording
    assert await removing
    assert await _attempt_rows(store) == 0
    async with store.read() as conn:
        assert (await conn.execute(sa.select(outbox))).all() == []
