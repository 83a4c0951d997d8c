"""Over HTTP, on both backends: a hand-made token is a 400 (a change number past 64 bits
was a 500), and the key that authenticates tokens is the same on every node and after a
restart — the setting's, or one the server makes once and keeps in the database."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.core import changefeed_tokens as changefeed
from slotblock.core.model import Targets
from slotblock.service.container import build_services
from slotblock.store import Store
from slotblock.toolkit.store import control
from tests.api.calls import create
from tests.changes.test_changes_feed import at, page, sync
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio


def node(settings: Settings, store: Store, **changes: object) -> httpx.AsyncClient:
    """A client of a freshly started node (nothing cached) on the same database."""
    changed = settings.model_copy(update=changes)
    app = create_app(changed, store)
    app.state.services = build_services(store, changed)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://slotblock")


async def test_a_hand_made_token_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    scope = changefeed.scope_of(tenant.location_id, Targets())
    record = {"mode": "changes", "scope": scope, "since": 2**70, "upto": 2**70, "after": 0,
              "issued_ms": 1_700_000_000_000}  # fmt: skip
    payload = base64.urlsafe_b64encode(json.dumps(record).encode()).decode().rstrip("=")
    for token in (payload, f"{payload}.AAAAAAAAAAAAAAAAAAAAAA"):
        for name in ("syncToken", "pageToken"):
            answer = await page(client, tenant, **{name: token})
            assert answer.status_code == 400, answer.text
            assert answer.json()["message"] == [changefeed.INVALID]


async def test_tokens_hold_across_nodes_and_restarts(
    settings: Settings, store: Store, tenant: Tenant
) -> None:
    async with node(settings, store) as first, node(settings, store) as second:
        await create(first, tenant, **at(9))
        _, token = await sync(first, tenant)
        made = await create(first, tenant, **at(10))
        items, _ = await sync(second, tenant, token)
        assert [i["id"] for i in items] == [made["id"]]
    async with store.begin() as conn:  # a reset keeps the server's own secrets
        await control.delete_everything(conn)
    async with node(settings, store) as restarted:
        assert (await restarted.get("/readyz")).status_code == 200
        key = await build_services(store, settings).changes.token_key()
    assert key == await build_services(store, settings).changes.token_key()
    assert len(key) == 32


async def test_a_configured_key_is_every_nodes_key(
    settings: Settings, store: Store, tenant: Tenant
) -> None:
    shared = "a key every node is given"
    async with (
        node(settings, store, sync_token_key=shared) as first,
        node(settings, store, sync_token_key=shared) as second,
        node(settings, store) as stranger,
    ):
        _, token = await sync(first, tenant)
        assert (await page(second, tenant, syncToken=token)).status_code == 200
        assert (await page(stranger, tenant, syncToken=token)).status_code == 400
