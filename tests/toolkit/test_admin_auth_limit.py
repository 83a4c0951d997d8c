"""The admin token cannot be guessed at speed: failed admin authentications count against
the client's address exactly as a location token's do (SLOTBLOCK_AUTH_FAILURE_LIMIT per
SLOTBLOCK_RATE_LIMIT_INTERVAL_SECONDS), and past the limit the address is refused (429)
before its token is even checked. Both backends (a created admin token is looked up)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.service.rate_limits import RateLimiter
from slotblock.store import Store
from slotblock.store.counters import InProcessCounters
from slotblock.toolkit.service.admin_auth import create_admin_token
from tests.conftest import Clock, Tenant
from tests.toolkit.conftest import ADMIN, ADMIN_TOKEN

pytestmark = pytest.mark.anyio
WRONG = {"Authorization": "Bearer sba-a-guess-at-the-admin-token"}


@pytest.fixture
async def guarded(
    admin_settings: Settings, store: Store, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    settings = admin_settings.model_copy(update={"auth_failure_limit": 3, "token_cache_seconds": 0})
    app = create_app(settings, store)
    app.state.rate_limiter = RateLimiter(InProcessCounters(), settings, clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield client


async def test_failed_admin_authentications_are_limited_per_address(
    guarded: httpx.AsyncClient, clock: Clock, tenant: Tenant
) -> None:
    guesses = [await guarded.get("/_admin/faults", headers=WRONG) for _ in range(5)]
    assert [g.status_code for g in guesses] == [401, 401, 401, 429, 429]
    assert guesses[3].headers["Retry-After"] and guesses[3].headers["X-RateLimit-Max"] == "3"
    assert "failed authentications" in guesses[3].json()["message"]
    right = await guarded.post("/_admin/reset", json={"locationId": "nowhere"}, headers=ADMIN)
    assert right.status_code == 429, "refused before the token is checked, even the right one"
    api = await guarded.get(
        "/calendars/groups", params={"locationId": tenant.location_id}, headers=tenant.headers()
    )
    assert api.status_code == 429, "one count per address, whichever token it tries"
    clock.now_ms += 10_000  # the next interval
    assert (await guarded.get("/_admin/faults", headers=ADMIN)).status_code == 200


async def test_a_created_admin_token_is_guarded_the_same_way(
    admin_settings: Settings, store: Store, clock: Clock
) -> None:
    created = await create_admin_token(store, 0)
    settings = admin_settings.model_copy(
        update={"admin_token": None, "auth_failure_limit": 2, "token_cache_seconds": 0}
    )
    app = create_app(settings, store)
    app.state.rate_limiter = RateLimiter(InProcessCounters(), settings, clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        statuses = [(await client.get("/_admin/faults", headers=WRONG)).status_code for _ in "abc"]
        assert statuses == [401, 401, 429]
        mine = {"Authorization": f"Bearer {created}"}
        assert (await client.get("/_admin/faults", headers=mine)).status_code == 429
        clock.now_ms += 10_000
        assert (await client.get("/_admin/faults", headers=mine)).status_code == 200
    assert created != ADMIN_TOKEN
