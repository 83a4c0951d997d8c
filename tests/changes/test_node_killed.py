"""A node killed between the commit of a change and the delivery of its webhook: another
node (here: a restarted one) delivers it once the dead node's lease runs out."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from slotblock.config import Settings
from slotblock.service.container import build_services
from slotblock.service.webhooks import new_key_pair
from slotblock.store import open_store
from tests.changes.receiver import Receiver, receiving
from tests.conftest import Tenant, make_tenant
from tests.live import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
SLOTBLOCK = [sys.executable, "-m", "slotblock"]
KEYS = new_key_pair()
LOCAL = "127.0.0.0/8"  # the receiver listens on this machine


@contextmanager
def node(database_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`slotblock serve` in its own process, with a short delivery timeout (lease 2 s)."""
    port = free_port()
    env = {
        **os.environ,
        "SLOTBLOCK_WEBHOOK_TIMEOUT_SECONDS": "0.5",
        "SLOTBLOCK_WEBHOOK_POLL_SECONDS": "0.05",
        "SLOTBLOCK_WEBHOOK_SIGNING_KEY": KEYS.private_pem,
        "SLOTBLOCK_OUTBOUND_ALLOW_NETWORKS": LOCAL,
    }
    process = subprocess.Popen(
        [*SLOTBLOCK, "serve", "--port", str(port), "--database-url", database_url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the node did not start"
                time.sleep(0.05)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=15)


async def seed(database_url: str, url: str) -> Tenant:
    store = open_store(database_url, pool_size=1)
    try:
        settings = Settings(database_url=database_url, outbound_allow_networks=LOCAL)
        services = build_services(store, settings)
        tenant = await make_tenant(services)
        await services.webhooks.add(tenant.location_id, url)
        return tenant
    finally:
        await store.dispose()


async def wait(receiver: Receiver, attempts: int) -> None:
    deadline = time.monotonic() + 20
    while receiver.attempts < attempts:
        assert time.monotonic() < deadline, "no delivery attempt"
        await asyncio.sleep(0.01)


async def test_a_node_killed_mid_delivery_leaves_it_to_the_next(database_url: str) -> None:
    with receiving() as receiver:
        tenant = await seed(database_url, receiver.url)
        receiver.hang_s = 3.0  # the first attempt gets no answer: the node dies waiting
        with node(database_url) as (base, process):
            async with httpx.AsyncClient() as client:
                created = await client.post(
                    f"{base}/calendars/events/block-slots",
                    json={"locationId": tenant.location_id, "calendarId": tenant.calendar_id,
                          "startTime": "2023-04-03T09:00:00+05:30",
                          "endTime": "2023-04-03T10:00:00+05:30"},
                    headers=tenant.headers(),
                )  # fmt: skip
            assert created.status_code == 201
            await wait(receiver, 1)
            process.send_signal(signal.SIGKILL)  # committed, claimed, never marked delivered
            process.wait(timeout=10)
        assert receiver.received == []
        with node(database_url):
            [delivery] = await receiver.wait_for(1)
        assert delivery.json["type"] == "BlockedSlotCreate"
        assert delivery.json["blockedSlot"]["id"] == created.json()["id"]
        assert "x-ghl-signature" in delivery.headers
