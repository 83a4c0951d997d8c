"""The webhook queue in /metrics: attempts by outcome, their durations, the delay from a
change to its delivery, and the outbox's pending and dead-lettered rows, against a real
local receiver on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from slotblock.api.app import create_app
from slotblock.api.schemas import event_json
from slotblock.config import Settings
from slotblock.service.container import build_services, wall_clock_ms
from slotblock.service.workers.webhook_dispatcher import Dispatcher
from slotblock.store import Store
from tests.api.calls import create
from tests.changes.receiver import Receiver
from tests.changes.test_webhooks import FAST, at, receiver
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.anyio
__all__ = ["receiver"]  # the fixture, used by name

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class Node:
    client: httpx.AsyncClient
    tenant: Tenant
    dispatcher: Dispatcher

    async def metrics(self) -> Samples:
        text = (await self.client.get("/metrics")).text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


@pytest.fixture
async def node(database_url: str, store: Store, receiver: Receiver) -> AsyncIterator[Node]:
    settings = Settings(database_url=database_url, pool_size=2).model_copy(update=FAST)
    services = build_services(store, settings, wall_clock_ms)
    tenant = await make_tenant(services)
    await services.webhooks.add(tenant.location_id, receiver.url)
    app = create_app(settings, store)
    app.state.services = services
    # the dispatcher a serving process starts in its lifespan, driven round by round here
    app.state.dispatcher = Dispatcher(store, settings, wall_clock_ms, event_json)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield Node(client, tenant, app.state.dispatcher)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def delivered_by_retries(node: Node) -> None:
    """Rounds until the outbox has nothing due (retries wait tens of milliseconds)."""
    for _ in range(200):
        if not await node.dispatcher.run_once():
            await asyncio.sleep(0.02)
        gauges = await node.metrics()
        if gauges[("slotblock_webhook_deliveries", (("state", "pending"),))] == 0:
            return
    raise AssertionError("the retried delivery was never delivered")


async def test_the_queue_and_its_outcomes_are_in_the_metrics(
    node: Node, receiver: Receiver
) -> None:
    before = await node.metrics()
    receiver.plan = [503]  # the first attempt is retried, the second delivered
    await create(node.client, node.tenant, **at(9), title="retried")
    pending = await node.metrics()
    assert pending[("slotblock_webhook_deliveries", (("state", "pending"),))] == 1
    assert await node.dispatcher.run_once() == 1
    await delivered_by_retries(node)
    receiver.always = 410  # neither 2xx, 429 nor 5xx: dead-lettered at once
    await create(node.client, node.tenant, **at(10), title="refused")
    assert await node.dispatcher.run_once() == 1
    after = await node.metrics()
    assert moved(before, after, "slotblock_webhook_attempts_total", outcome="retried") == 1
    assert moved(before, after, "slotblock_webhook_attempts_total", outcome="delivered") == 1
    assert moved(before, after, "slotblock_webhook_attempts_total", outcome="dead") == 1
    assert moved(before, after, "slotblock_webhook_attempt_seconds_count") == 3
    assert moved(before, after, "slotblock_webhook_attempt_seconds_sum") > 0
    assert moved(before, after, "slotblock_webhook_delivery_latency_seconds_count") == 1
    assert after[("slotblock_webhook_deliveries", (("state", "pending"),))] == 0
    assert after[("slotblock_webhook_deliveries", (("state", "dead"),))] == 1
    assert receiver.attempts == 3 and len(receiver.received) == 1  # the 2xx answers
