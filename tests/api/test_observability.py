"""Request ids, the access log and /metrics."""

from __future__ import annotations

import io
import json
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from slotblock import logs
from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.service.container import Services
from slotblock.store import Store
from tests.api.calls import SEED_END, SEED_START, create
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    shutil.copy(sqlite_template, tmp_path / "test.db")
    return f"sqlite:///{tmp_path / 'test.db'}"


async def app_client(
    settings: Settings, store: Store, services: Services
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, store)
    app.state.services = services
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield client


async def test_request_id_taken_or_generated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    given = await client.get("/healthz", headers={"X-Request-Id": "abc-123.x"})
    assert given.headers["X-Request-Id"] == "abc-123.x"
    made = await client.get("/healthz")
    other = await client.get("/healthz", headers={"X-Request-Id": "no spaces\tor tabs"})
    assert len(made.headers["X-Request-Id"]) == 32
    assert other.headers["X-Request-Id"] not in (made.headers["X-Request-Id"], "no spaces")
    refused = [
        await client.get("/nowhere"),
        await client.get("/calendars/blocked-slots"),
        await client.post(
            "/calendars/events/block-slots",
            content=b"x" * 2_000_000,
            headers={**tenant.headers(), "content-type": "application/json"},
        ),
    ]
    assert [response.status_code for response in refused] == [404, 401, 413]
    assert all(len(response.headers["X-Request-Id"]) == 32 for response in refused)


async def test_access_log_is_json_without_secrets(
    client: httpx.AsyncClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="slotblock.access")
    event = await create(
        client, tenant, startTime="2023-04-03T10:00:00+05:30", endTime="2023-04-03T11:00:00+05:30"
    )
    path = f"/calendars/events/{event['id']}"
    response = await client.request(
        "DELETE", path, json={}, headers={**tenant.headers(), "X-Request-Id": "req-42"}
    )
    assert response.status_code == 201
    record = next(r for r in caplog.records if getattr(r, "request_id", None) == "req-42")
    line = json.loads(logs.JsonLines().format(record))
    assert line["method"] == "DELETE"
    assert line["route"] == "/calendars/events/{eventId}"
    assert line["status"] == 201
    assert line["location_id"] == tenant.location_id
    assert line["duration_ms"] > 0
    every_line = "\n".join(logs.JsonLines().format(r) for r in caplog.records)
    assert tenant.token not in every_line
    assert event["id"] not in every_line, "the route template, never the concrete path"


def test_text_on_a_terminal_json_otherwise() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert not logs.wants_json("auto", Terminal())
    assert logs.wants_json("auto", io.StringIO())
    assert logs.wants_json("json", Terminal())
    assert not logs.wants_json("text", io.StringIO())
    record = logging.LogRecord("slotblock.access", logging.INFO, "", 0, "GET / 200", None, None)
    record.request_id = "r1"
    assert logs.Text().format(record).endswith("GET / 200 id=r1")


def sample(text: str, name: str, **labels: str) -> float:
    """A sample's value from the Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests(client: httpx.AsyncClient, tenant: Tenant) -> None:
    before = (await client.get("/metrics")).text
    query = (
        f"/calendars/blocked-slots?locationId={tenant.location_id}&calendarId="
        f"{tenant.calendar_id}&startTime={SEED_START}&endTime={SEED_END}"
    )
    for _ in range(3):
        assert (await client.get(query, headers=tenant.headers())).status_code == 200
    after = (await client.get("/metrics")).text
    labels = {"operation": "get-blocked-slots", "status": "200"}
    assert (
        sample(after, "slotblock_requests_total", **labels)
        - sample(before, "slotblock_requests_total", **labels)
        == 3
    )
    assert sample(after, "slotblock_request_duration_seconds_count", operation="get-blocked-slots")
    for name in (
        "slotblock_db_pool_connections_in_use",
        "slotblock_expansion_cache_instances",
        "slotblock_expansion_cache_hits_total",
        "slotblock_rate_limited_total",
    ):
        assert f"# TYPE {name}" in after or f"# HELP {name}" in after, name


async def test_cache_gauges_are_current_at_every_scrape(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Gauges are sampled at most once a second after requests, and at every scrape: a
    scrape right after a query that filled the answer cache shows its bytes."""
    before = (await client.get("/metrics")).text  # sampled: the next request skips it
    query = (
        f"/calendars/blocked-slots?locationId={tenant.location_id}&calendarId="
        f"{tenant.calendar_id}&startTime={SEED_START}&endTime={SEED_END + 60_000}"
    )
    assert (await client.get(query, headers=tenant.headers())).status_code == 200
    after = (await client.get("/metrics")).text
    grown = sample(after, "slotblock_cache_bytes", cache="answers")
    assert grown > sample(before, "slotblock_cache_bytes", cache="answers")


async def test_metrics_off_or_behind_a_token(
    database_url: str, store: Store, services: Services
) -> None:
    off = Settings(database_url=database_url, metrics="off")
    async for client in app_client(off, store, services):
        assert (await client.get("/metrics")).status_code == 404
    guarded = Settings(database_url=database_url, metrics="token", metrics_token="s3cret")
    async for client in app_client(guarded, store, services):
        refused = await client.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 401
        assert refused.json()["statusCode"] == 401
        assert (await client.get("/metrics")).status_code == 401
        allowed = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert allowed.status_code == 200
        assert "slotblock_requests_total" in allowed.text


async def test_a_crash_is_500_in_the_official_shape_with_its_request_id(
    database_url: str, store: Store, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=database_url), store)
    app.state.services = services

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        response = await client.get("/boom", headers={"X-Request-Id": "crash-1"})
    assert response.status_code == 500
    assert response.json() == {
        "statusCode": 500,
        "message": "Internal server error",
        "error": "Internal Server Error",
    }
    assert response.headers["X-Request-Id"] == "crash-1"
    assert response.headers["cache-control"] == "no-store"  # the standard headers too
    assert response.headers["x-content-type-options"] == "nosniff"
    logged = [r for r in caplog.records if r.name == "slotblock.core.errors"]
    assert logged and "crash-1" in logged[0].getMessage()


async def test_every_cache_reports_hits_misses_evictions_bytes_and_entries(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    query = (
        f"/calendars/blocked-slots?locationId={tenant.location_id}&calendarId="
        f"{tenant.calendar_id}&startTime={SEED_START}&endTime={SEED_END + 120_000}"
    )
    for _ in range(2):
        assert (await client.get(query, headers=tenant.headers())).status_code == 200
    text = (await client.get("/metrics")).text
    for cache in ("expansion", "fragments", "answers", "blocks", "feeds"):
        for name in ("hits_total", "misses_total", "evictions_total"):
            assert f'slotblock_cache_{name}{{cache="{cache}"}}' in text, (cache, name)
        for name in ("bytes", "entries"):
            assert f'slotblock_cache_{name}{{cache="{cache}"}}' in text, (cache, name)
    assert sample(text, "slotblock_cache_hits_total", cache="answers") >= 1  # the repeat
    assert sample(text, "slotblock_cache_entries", cache="answers") >= 1
