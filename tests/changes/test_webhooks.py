"""Webhook deliveries to a real local HTTP receiver: signed as the platform signs (checked by
the official Python SDK's own verification), in order per block, retried through failures,
dead-lettered past the horizon, and never sent for a write that did not commit."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.api.schemas import event_json
from slotblock.config import Settings
from slotblock.core.errors import SlotblockError
from slotblock.service.blocks import BlockInput
from slotblock.service.container import Services, build_services, wall_clock_ms
from slotblock.service.webhooks import KeyPair, new_key_pair
from slotblock.service.workers.webhook_dispatcher import Dispatcher
from slotblock.store import Store, open_store
from slotblock.store.tables import block_changes, outbox
from tests.api.calls import create, delete, edit
from tests.changes.receiver import Receiver, receiving
from tests.conftest import Tenant, make_tenant, snapshot

pytestmark = pytest.mark.anyio
# The official SDK's own webhook verification (a test dependency).
sdk_logging = pytest.importorskip("highlevel.logging")
sdk_storage = pytest.importorskip("highlevel.storage.memory_session_storage")
sdk_webhooks = pytest.importorskip("highlevel.webhook.webhook_manager")
KEYS = new_key_pair()
ADMIN_TOKEN = "sba-test-admin-token-0001"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FAST = {
    "webhook_signing_key": KEYS.private_pem,
    "webhook_retry_base_seconds": 0.05,
    "webhook_retry_max_seconds": 0.2,
    "webhook_timeout_seconds": 1.0,
    "webhook_poll_seconds": 0.05,
    "webhook_dispatch": False,  # started by the test, not by a lifespan
    "admin_token": ADMIN_TOKEN,
    "outbound_allow_networks": "127.0.0.0/8",  # the receiver listens on this machine
}


def at(hour: int) -> dict[str, str]:
    return {"startTime": f"2023-04-03T{hour:02}:00:00+05:30",
            "endTime": f"2023-04-03T{hour:02}:30:00+05:30"}  # fmt: skip


@dataclass
class Hooked:
    client: httpx.AsyncClient
    tenant: Tenant
    receiver: Receiver
    services: Services
    store: Store
    settings: Settings

    def dispatcher(self, **more: Any) -> Dispatcher:
        settings = self.settings.model_copy(update=more)
        return Dispatcher(self.store, settings, wall_clock_ms, event_json)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as the_receiver:
        yield the_receiver


@pytest.fixture
async def hooked(database_url: str, store: Store, receiver: Receiver) -> AsyncIterator[Hooked]:
    settings = Settings(database_url=database_url, pool_size=2).model_copy(update=FAST)
    services = build_services(store, settings, wall_clock_ms)
    tenant = await make_tenant(services)
    await services.webhooks.add(tenant.location_id, receiver.url)
    app = create_app(settings, store)
    app.state.services = services
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield Hooked(client, tenant, receiver, services, store, settings)


@pytest.fixture
async def dispatching(hooked: Hooked) -> AsyncIterator[Hooked]:
    dispatcher = hooked.dispatcher()
    dispatcher.start()
    yield hooked
    await dispatcher.stop()


def sdk_verifies(body: bytes, signature: str, public_key: str) -> bool:
    manager = sdk_webhooks.WebhookManager(
        sdk_logging.Logger("error"), sdk_storage.MemorySessionStorage(), None
    )
    return bool(manager.verify_ed25519_signature(body.decode(), signature, public_key))


async def test_deliveries_are_signed_as_the_platform_signs(dispatching: Hooked) -> None:
    h = dispatching
    block = await create(h.client, h.tenant, **at(9), title="first")
    await edit(h.client, h.tenant, block["id"], title="second")
    await delete(h.client, h.tenant, block["id"])
    got = await h.receiver.wait_for(3)
    assert h.receiver.types() == [
        ("BlockedSlotCreate", "single", block["id"]),
        ("BlockedSlotUpdate", "single", block["id"]),
        ("BlockedSlotDelete", "single", block["id"]),
    ]
    for delivery in got:
        signature = delivery.headers["x-ghl-signature"]
        for public in (KEYS.public_pem, KEYS.public_base64):
            assert sdk_verifies(delivery.body, signature, public)
        tampered = delivery.body.replace(b'"title":"', b'"title":"X')
        assert tampered != delivery.body
        assert not sdk_verifies(tampered, signature, KEYS.public_pem)
        assert not sdk_verifies(delivery.body, signature, new_key_pair().public_pem)
    body = got[1].json
    assert set(body) == {"type", "locationId", "webhookId", "subscriptionId", "timestamp",
                         "scope", "blockedSlot"}  # fmt: skip
    assert body["locationId"] == h.tenant.location_id
    assert body["blockedSlot"]["title"] == "second" and body["timestamp"].endswith("Z")
    assert got[2].json["blockedSlot"]["deleted"] is True
    assert len({d.json["webhookId"] for d in got}) == 3


async def test_one_blocks_events_arrive_in_order_through_a_failing_receiver(
    dispatching: Hooked,
) -> None:
    h = dispatching
    h.receiver.plan = [503, 503, 429, 500, 503]
    series = await create(h.client, h.tenant, **at(9), rrule="RRULE:FREQ=DAILY;COUNT=4")
    other = await create(h.client, h.tenant, **at(12))
    second = f"{series['id']}_1680579000000_1800"
    third = f"{series['id']}_1680665400000_1800"
    for response in (
        await edit(h.client, h.tenant, second, title="moved"),
        await edit(h.client, h.tenant, other["id"], title="other"),
        await delete(h.client, h.tenant, third),
        await edit(h.client, h.tenant, series["id"], title="renamed"),
        await delete(h.client, h.tenant, series["id"]),
    ):
        assert response.status_code == 201, response.text
    await h.receiver.wait_for(7)
    assert h.receiver.attempts >= 12
    ours = [t for t in h.receiver.types() if t[2].startswith(series["id"])]
    assert ours == [
        ("BlockedSlotCreate", "series", series["id"]),
        ("BlockedSlotUpdate", "instance", second),
        ("BlockedSlotDelete", "instance", third),
        ("BlockedSlotUpdate", "series", series["id"]),
        ("BlockedSlotDelete", "series", series["id"]),
    ]
    assert [t[0] for t in h.receiver.types() if t[2] == other["id"]] == [
        "BlockedSlotCreate", "BlockedSlotUpdate"]  # fmt: skip


async def test_past_the_horizon_a_delivery_is_dead_lettered_with_its_last_error(
    hooked: Hooked,
) -> None:
    h = hooked
    h.receiver.always = 500
    # Retried every 0.05–0.2 s for a second: a busy machine still makes a second attempt.
    dispatcher = h.dispatcher(webhook_retry_horizon_seconds=1.0)
    dispatcher.start()
    try:
        await create(h.client, h.tenant, **at(9))
        for _ in range(200):
            dead = (await h.client.get("/_admin/webhooks/dead-letters", headers=ADMIN)).json()
            if dead["deliveries"]:
                break
            await _pause(0.05)
        [letter] = dead["deliveries"]
        assert letter["lastError"] == "HTTP 500" and letter["attempts"] >= 2
        assert letter["type"] == "BlockedSlotCreate" and letter["url"] == h.receiver.url
        attempts = h.receiver.attempts
        await _pause(0.3)
        assert h.receiver.attempts == attempts  # no more tries
        h.receiver.always = 404  # refused: dead-lettered at once, not retried
        await create(h.client, h.tenant, **at(10))
        for _ in range(200):
            dead = (await h.client.get("/_admin/webhooks/dead-letters", headers=ADMIN)).json()
            if len(dead["deliveries"]) == 2:
                break
            await _pause(0.05)
        assert dead["deliveries"][0]["lastError"] == "HTTP 404 (not retried)"
        assert dead["deliveries"][0]["attempts"] == 1
    finally:
        await dispatcher.stop()
    assert Settings().webhook_retry_horizon_seconds == 86_400


async def test_webhook_id_names_a_delivery_and_subscription_id_a_subscription(
    hooked: Hooked,
) -> None:
    """One meaning per name: `webhookId` (the platform's) is a delivery, in its body only;
    the subscription is `subscriptionId` in the body, in a dead letter and in the paths."""
    h = hooked
    [hook] = (await h.client.get("/_admin/webhooks", headers=ADMIN)).json()["webhooks"]
    await create(h.client, h.tenant, **at(9))
    assert await h.dispatcher().run_once() == 1
    [body] = [d.json for d in h.receiver.received]
    assert body["subscriptionId"] == hook["id"] and body["webhookId"] != hook["id"]
    h.receiver.always = 404
    await create(h.client, h.tenant, **at(10))
    assert await h.dispatcher().run_once() == 1
    [letter] = (await h.client.get("/_admin/webhooks/dead-letters", headers=ADMIN)).json()[
        "deliveries"
    ]
    assert letter["subscriptionId"] == hook["id"] and "webhookId" not in letter
    assert int(letter["id"]) > int(body["webhookId"])  # a delivery's id, as in its body
    paths = (await h.client.get("/openapi.json")).json()["paths"]
    assert "/calendars/webhooks/{subscriptionId}" in paths
    assert "/_admin/webhooks/{subscriptionId}" in paths
    removed = await h.client.delete(f"/_admin/webhooks/{hook['id']}", headers=ADMIN)
    assert removed.status_code == 200


async def test_no_delivery_for_a_refused_or_rolled_back_write(hooked: Hooked) -> None:
    h = hooked
    block = await create(h.client, h.tenant, **at(9))
    dispatcher = h.dispatcher()
    assert await dispatcher.run_once() == 1
    before = await snapshot(h.store)
    stale = await h.client.put(
        f"/calendars/events/block-slots/{block['id']}",
        json={"locationId": h.tenant.location_id, "title": "x"},
        headers={**h.tenant.headers(), "If-Match": '"9"'},
    )
    assert stale.status_code == 412
    missing = await h.client.post(
        "/calendars/events/block-slots",
        json={"locationId": h.tenant.location_id, "calendarId": "nosuchcalendar", **at(10)},
        headers=h.tenant.headers(),
    )
    assert missing.status_code == 404

    async def fail_after_writing(*_: Any) -> None:
        raise SlotblockError("the transaction fails after the block and its event")

    principal = await h.services.auth.authenticate(h.tenant.token)
    body = BlockInput(h.tenant.location_id, calendar_id=h.tenant.calendar_id,
                      start_ms=1680492600000, end_ms=1680494400000)  # fmt: skip
    with pytest.raises(SlotblockError):
        await h.services.blocks.create(principal, body, on_created=fail_after_writing)
    assert await snapshot(h.store) == before
    assert await dispatcher.run_once() == 0
    await dispatcher.stop()
    assert len(h.receiver.received) == 1


async def test_subscriptions_choose_their_event_types(hooked: Hooked) -> None:
    h = hooked
    only_deletes = await h.client.post(
        "/calendars/webhooks",
        json={"locationId": h.tenant.location_id, "url": h.receiver.url,
              "events": ["BlockedSlotDelete"]},
        headers=h.tenant.headers(),
    )  # fmt: skip
    assert only_deletes.status_code == 201
    block = await create(h.client, h.tenant, **at(9))
    await delete(h.client, h.tenant, block["id"])
    async with h.store.read() as conn:
        rows = (await conn.execute(outbox.select().order_by(outbox.c.id))).all()
        changes = (await conn.execute(block_changes.select())).all()
    assert [(r.event_type, r.webhook_id == only_deletes.json()["id"]) for r in rows] == [
        ("BlockedSlotCreate", False), ("BlockedSlotDelete", False), ("BlockedSlotDelete", True)
    ]  # fmt: skip
    assert len(changes) == 2


async def test_location_tokens_manage_their_own_subscriptions(
    hooked: Hooked, receiver: Receiver
) -> None:
    h = hooked
    reader, _ = await h.services.tenants.create_token(
        h.tenant.location_id, ("calendars/events.readonly",), "reader"
    )
    other = await make_tenant(h.services)
    hook = {"locationId": h.tenant.location_id, "url": receiver.url}
    as_reader = {"Authorization": f"Bearer {reader}", "Version": "2021-07-28"}
    assert (
        await h.client.post("/calendars/webhooks", json=hook, headers=as_reader)
    ).status_code == 401
    assert (
        await h.client.post("/calendars/webhooks", json=hook, headers=other.headers())
    ).status_code == 403
    bad = await h.client.post(
        "/calendars/webhooks",
        json={**hook, "url": "ftp://x", "events": ["Nope"]},
        headers=h.tenant.headers(),
    )
    assert bad.status_code == 400 and len(bad.json()["message"]) == 2
    made = (
        await h.client.post("/calendars/webhooks", json=hook, headers=h.tenant.headers())
    ).json()
    listed = await h.client.get(
        "/calendars/webhooks",
        params={"locationId": h.tenant.location_id},
        headers=h.tenant.headers(),
    )
    assert made["id"] in [w["id"] for w in listed.json()["webhooks"]]
    assert made["events"] == ["BlockedSlotCreate", "BlockedSlotUpdate", "BlockedSlotDelete"]
    gone = await h.client.delete(f"/calendars/webhooks/{made['id']}", headers=other.headers())
    assert gone.status_code == 404  # another location's subscription is "not found"
    assert (
        await h.client.delete(f"/calendars/webhooks/{made['id']}", headers=h.tenant.headers())
    ).status_code == 200


async def test_the_admin_api_manages_every_locations_subscriptions(hooked: Hooked) -> None:
    h = hooked
    made = await h.client.post(
        "/_admin/webhooks",
        json={
            "locationId": h.tenant.location_id,
            "url": h.receiver.url,
            "events": ["BlockedSlotCreate"],
        },
        headers=ADMIN,
    )
    assert made.status_code == 201
    listed = (await h.client.get("/_admin/webhooks", headers=ADMIN)).json()["webhooks"]
    assert made.json()["id"] in [w["id"] for w in listed] and len(listed) == 2
    assert (await h.client.get("/_admin/webhooks", headers=h.tenant.headers())).status_code == 401
    assert (
        await h.client.delete(f"/_admin/webhooks/{made.json()['id']}", headers=ADMIN)
    ).status_code == 200
    assert (
        await h.client.delete(f"/_admin/webhooks/{made.json()['id']}", headers=ADMIN)
    ).status_code == 404
    unknown = {"locationId": "nosuchlocation", "url": h.receiver.url}
    assert (await h.client.post("/_admin/webhooks", json=unknown, headers=ADMIN)).status_code == 404


async def test_one_dispatcher_per_sqlite_file(hooked: Hooked) -> None:
    first, second = hooked.dispatcher(), hooked.dispatcher()
    if not hooked.store.is_sqlite:
        assert first._may_dispatch() and second._may_dispatch()
        return
    assert first._may_dispatch()
    assert not second._may_dispatch()
    await first.stop()
    assert second._may_dispatch()
    await second.stop()


def test_keygen_pairs_sign_and_verify() -> None:
    pair: KeyPair = new_key_pair()
    assert pair.private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert len(base64.b64decode(pair.public_base64)) == 32


async def _pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def test_two_nodes_share_the_deliveries_each_sent_once_in_order(
    hooked: Hooked, database_url: str
) -> None:
    """Two dispatchers on two engines (two nodes) at once: every delivery is sent once, and
    each block's in order (on SQLite the second node's dispatcher stands by)."""
    h = hooked
    other_store = open_store(database_url, pool_size=2)
    first = h.dispatcher(webhook_batch=3)
    second = Dispatcher(other_store, first.settings, wall_clock_ms, event_json)
    blocks = [await create(h.client, h.tenant, **at(9 + i)) for i in range(4)]
    for round_ in range(3):
        for block in blocks:
            await edit(h.client, h.tenant, block["id"], title=f"round {round_}")
    first.start()
    second.start()
    try:
        await h.receiver.wait_for(16)
        await _pause(0.2)
    finally:
        await first.stop()
        await second.stop()
        await other_store.dispose()
    assert len(h.receiver.received) == 16
    assert len({d.json["webhookId"] for d in h.receiver.received}) == 16
    for block in blocks:
        titles = [d.json["blockedSlot"]["title"] for d in h.receiver.received
                  if d.json["blockedSlot"]["id"] == block["id"]]  # fmt: skip
        assert titles == ["", "round 0", "round 1", "round 2"]


async def test_a_receiver_that_does_not_answer_in_time_gets_the_delivery_again(
    hooked: Hooked,
) -> None:
    h = hooked
    h.receiver.hang_s = 1.5
    dispatcher = h.dispatcher(webhook_timeout_seconds=0.3)
    dispatcher.start()
    try:
        block = await create(h.client, h.tenant, **at(9))
        [delivery] = await h.receiver.wait_for(1)
    finally:
        await dispatcher.stop()
    assert delivery.json["blockedSlot"]["id"] == block["id"]
    assert h.receiver.attempts == 2


async def test_backoff_doubles_up_to_its_cap_and_a_round_claims_a_batch(hooked: Hooked) -> None:
    h = hooked
    h.receiver.always = 503
    dispatcher = Dispatcher(
        h.store,
        h.settings.model_copy(
            update={"webhook_retry_base_seconds": 10, "webhook_retry_max_seconds": 25,
                    "webhook_batch": 2}
        ),
        wall_clock_ms,
        event_json,
        jitter=lambda: 1.0,  # the longest delay of the jittered range
    )  # fmt: skip
    for hour in (9, 10, 11):
        await create(h.client, h.tenant, **at(hour))
    delays = []
    last: tuple[str, int] = ("", 0)
    for _ in range(3):
        async with h.store.begin() as conn:  # every pending delivery is due now
            await conn.execute(outbox.update().values(next_attempt_ms=0))
        before = wall_clock_ms()
        assert await dispatcher.run_once() == 2
        async with h.store.read() as conn:
            first = (await conn.execute(outbox.select().order_by(outbox.c.id))).first()
        assert first is not None
        delays.append(round((first.next_attempt_ms - before) / 1000))
        last = (first.last_error, first.attempts)
    await dispatcher.stop()
    assert delays == [10, 20, 25]
    assert last == ("HTTP 503", 3)
