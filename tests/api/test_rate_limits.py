"""The platform's rate limits at the HTTP edge, in one process (the counters' logic is the
same with Redis: tests/fleet checks it across nodes), with a settable clock."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.service.container import Services
from slotblock.service.rate_limits import DAY_MS, RateLimiter
from slotblock.store import Store
from slotblock.store.counters import InProcessCounters
from tests.api.calls import SEED_END, SEED_START
from tests.conftest import Clock, Tenant

pytestmark = pytest.mark.anyio
HEADERS = (
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
)


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The limits do not depend on the database: SQLite only."""
    shutil.copy(sqlite_template, tmp_path / "test.db")
    return f"sqlite:///{tmp_path / 'test.db'}"


def limited_settings(url: str, **limits: int) -> Settings:
    values = {"rate_limit_burst": 5, "rate_limit_daily": 8, "auth_failure_limit": 3, **limits}
    return Settings(database_url=url, pool_size=2, **values)  # type: ignore[arg-type]


async def serve(
    settings: Settings, store: Store, services: Services, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, store)
    app.state.services = services
    app.state.rate_limiter = RateLimiter(InProcessCounters(), settings, clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield client


@pytest.fixture
async def limited(
    database_url: str, store: Store, services: Services, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve(limited_settings(database_url), store, services, clock):
        yield client


def query(t: Tenant) -> str:
    return (
        f"/calendars/blocked-slots?locationId={t.location_id}&calendarId={t.calendar_id}"
        f"&startTime={SEED_START}&endTime={SEED_END}"
    )


def limits_of(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in HEADERS}


async def test_headers_on_successes_and_errors(limited: httpx.AsyncClient, tenant: Tenant) -> None:
    ok = await limited.get(query(tenant), headers=tenant.headers())
    assert ok.status_code == 200
    assert limits_of(ok) == {
        "X-RateLimit-Limit-Daily": "8",
        "X-RateLimit-Daily-Remaining": "7",
        "X-RateLimit-Interval-Milliseconds": "10000",
        "X-RateLimit-Max": "5",
        "X-RateLimit-Remaining": "4",
    }
    missing = await limited.get("/calendars/nope-not-an-id", headers=tenant.headers())
    assert missing.status_code == 404
    assert limits_of(missing)["X-RateLimit-Remaining"] == "3"
    bad = await limited.get(
        query(tenant).replace("startTime=", "startTime=x"), headers=tenant.headers()
    )
    assert bad.status_code == 400
    assert limits_of(bad)["X-RateLimit-Remaining"] == "2"


async def test_burst_then_429_then_next_interval(
    limited: httpx.AsyncClient, tenant: Tenant, clock: Clock
) -> None:
    clock.now_ms = 1_700_000_003_000  # 3 s into an interval
    statuses = [(await limited.get(query(tenant), headers=tenant.headers())) for _ in range(7)]
    assert [r.status_code for r in statuses] == [200] * 5 + [429] * 2
    refused = statuses[-1]
    assert refused.json() == {
        "statusCode": 429,
        "message": refused.json()["message"],
        "error": "Too Many Requests",
    }
    assert "5 requests" in refused.json()["message"]
    assert refused.headers["Retry-After"] == "7"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Daily-Remaining"] == "3"  # refusals are not counted
    clock.now_ms += 7_000
    again = await limited.get(query(tenant), headers=tenant.headers())
    assert again.status_code == 200
    assert again.headers["X-RateLimit-Remaining"] == "4"


async def test_daily_limit_with_a_fake_clock(
    limited: httpx.AsyncClient, tenant: Tenant, clock: Clock
) -> None:
    clock.now_ms = 20_000 * DAY_MS + 1000
    answered = []
    for _ in range(10):
        answered.append((await limited.get(query(tenant), headers=tenant.headers())).status_code)
        clock.now_ms += 60_000  # a new burst interval every time: only the daily limit bites
    assert answered == [200] * 8 + [429] * 2
    refused = await limited.get(query(tenant), headers=tenant.headers())
    assert refused.headers["X-RateLimit-Daily-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Remaining"] == "5"
    assert int(refused.headers["Retry-After"]) == (DAY_MS - 1000 - 10 * 60_000) // 1000
    assert "per day" in refused.json()["message"]
    clock.now_ms = 20_001 * DAY_MS  # the next UTC day
    assert (await limited.get(query(tenant), headers=tenant.headers())).status_code == 200


async def test_limits_are_per_token_and_location(
    limited: httpx.AsyncClient, tenant: Tenant, other: Tenant
) -> None:
    for _ in range(5):
        await limited.get(query(tenant), headers=tenant.headers())
    assert (await limited.get(query(tenant), headers=tenant.headers())).status_code == 429
    assert (await limited.get(query(other), headers=other.headers())).status_code == 200


async def test_failed_authentication_is_limited_per_address(
    limited: httpx.AsyncClient, tenant: Tenant, clock: Clock
) -> None:
    wrong = {"Authorization": "Bearer pit-wrong", "Version": "2021-07-28"}
    statuses = [(await limited.get(query(tenant), headers=wrong)).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    refused = await limited.get(query(tenant), headers=tenant.headers())
    assert refused.status_code == 429, "the address is refused before its token is looked up"
    assert "failed authentications" in refused.json()["message"]
    assert refused.headers["Retry-After"]
    clock.now_ms += 10_000
    assert (await limited.get(query(tenant), headers=tenant.headers())).status_code == 200


async def test_zero_disables(
    database_url: str, store: Store, services: Services, clock: Clock, tenant: Tenant
) -> None:
    settings = limited_settings(
        database_url, rate_limit_burst=0, rate_limit_daily=0, auth_failure_limit=0
    )
    async for client in serve(settings, store, services, clock):
        for _ in range(12):
            response = await client.get(query(tenant), headers=tenant.headers())
            assert response.status_code == 200
        assert not any(name in response.headers for name in HEADERS)


async def test_redis_counters_daily_limit_with_a_fake_clock() -> None:
    """The Lua script: all or nothing over both buckets, windows from the clock passed in."""
    import secrets

    from slotblock.store.counters import Bucket, RedisCounters
    from tests.fleet.servers import redis_url_or_skip

    counters = RedisCounters(redis_url_or_skip(), prefix=f"slotblock-test-{secrets.token_hex(4)}:")
    try:
        burst, daily = Bucket("t:burst", 2, 10_000), Bucket("t:daily", 3, DAY_MS)
        now = 5 * DAY_MS
        seen = []
        for step in range(5):
            tally = await counters.count([burst, daily], now + step * 10_000, "take")
            seen.append((tally.allowed, tally.counts))
        assert seen == [
            (True, (1, 1)),
            (True, (1, 2)),
            (True, (1, 3)),
            (False, (0, 3)),
            (False, (0, 3)),
        ]
        assert (await counters.count([burst, daily], 6 * DAY_MS, "take")).allowed
    finally:
        keys = [k async for k in counters.client.scan_iter(f"{counters.prefix}*")]
        if keys:
            await counters.client.delete(*keys)
        await counters.close()


async def test_redis_unreachable_counts_in_process(caplog: pytest.LogCaptureFixture) -> None:
    """Documented choice: the limits hold per process, with a warning, until Redis is back."""
    from slotblock.store.counters import Bucket, RedisCounters
    from tests.live import free_port

    counters = RedisCounters(f"redis://127.0.0.1:{free_port()}/0")
    try:
        bucket = Bucket("t:burst", 2, 10_000)
        allowed = [(await counters.count([bucket], 0, "take")).allowed for _ in range(3)]
    finally:
        await counters.close()
    assert allowed == [True, True, False]
    warnings = [r for r in caplog.records if r.name == "slotblock.counters"]
    assert len(warnings) == 1, "one warning per outage interval, not one per request"
    assert "Redis is unreachable" in warnings[0].getMessage()


async def test_redis_unreachable_never_fails_a_request(
    database_url: str, store: Store, services: Services, tenant: Tenant
) -> None:
    from slotblock.api import rate_limits
    from tests.live import free_port

    settings = limited_settings(database_url, rate_limit_burst=3)
    settings = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    app = create_app(settings, store)
    app.state.services = services
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
            statuses = [
                (await client.get(query(tenant), headers=tenant.headers())).status_code
                for _ in range(4)
            ]
    finally:
        await rate_limits.close(app)
    assert statuses == [200, 200, 200, 429], "counted in the process while Redis is away"
