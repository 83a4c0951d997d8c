"""The database away: every path answers 503 with Retry-After, never 500 and never a hang.

PostgreSQL is reached through a TCP proxy (tests/db_proxy.py) that the tests break: nothing
listening (connections refused), a server answering every connection with FATAL 57P03 ("the
database system is starting up", as while it restarts), backends terminated
(`pg_terminate_backend`), and a black hole (connections accepted, never answered), where the
store's connect, statement and pool timeouts bound every wait. SQLite is away when its file
cannot be opened, and busy while another connection holds its write lock. The webhook
dispatcher (the background worker) keeps polling through an outage, saying so once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa

from slotblock.api.app import create_app, serving_timeouts
from slotblock.api.schemas import event_json
from slotblock.config import Settings
from slotblock.service.container import wall_clock_ms
from slotblock.service.workers.webhook_dispatcher import Dispatcher
from slotblock.store import Store, open_store
from tests.conftest import PG_URL, POSTGRESQL, Tenant, _pg_execute, pg_url, seed_tenants
from tests.db_proxy import DbProxy
from tests.hardening.helpers import client_with

pytestmark = pytest.mark.anyio
ADMIN_TOKEN = "sba-outage-admin-token-0001"
RETRY_AFTER = 7


def calls(t: Tenant) -> list[tuple[str, str, dict[str, Any]]]:
    """One request of every route that needs the database, the official operations, the
    extensions, the admin API and readiness; and one with a token nobody has. (The query
    `GET /calendars/blocked-slots` is left to the fast path's own differential tests.)"""
    loc, cal, grp, h = t.location_id, t.calendar_id, t.group_id, t.headers()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    window = {"locationId": loc, "startTime": "1680373800000", "endTime": "1680978599999"}
    block = {"locationId": loc, "calendarId": cal, "startTime": "2023-04-03T09:30:00+05:30",
             "endTime": "2023-04-03T10:00:00+05:30"}  # fmt: skip
    group = {"locationId": loc, "name": "g", "description": "", "slug": "g"}
    stranger = {"Authorization": "Bearer pit-nobody-has-this", "Version": "2021-07-28"}
    return [
        ("GET", "/calendars/blocked-slots/changes", {"params": {"locationId": loc}, "headers": h}),
        ("POST", "/calendars/events/block-slots", {"json": block, "headers": h}),
        ("PUT", "/calendars/events/block-slots/b1", {"json": {"locationId": loc}, "headers": h}),
        ("GET", "/calendars/events/block-slots/b1", {"headers": h}),
        ("DELETE", "/calendars/events/b1", {"headers": h}),
        ("GET", "/calendars/free-busy", {"params": {**window, "calendarId": cal}, "headers": h}),
        ("GET", f"/calendars/{cal}/free-slots",
         {"params": {"startDate": "1680373800000", "endDate": "1680978599999"}, "headers": h}),
        ("GET", "/calendars/", {"params": {"locationId": loc}, "headers": h}),
        ("POST", "/calendars/", {"json": {"locationId": loc, "name": "n"}, "headers": h}),
        ("GET", f"/calendars/{cal}", {"headers": h}),
        ("PUT", f"/calendars/{cal}", {"json": {"name": "n"}, "headers": h}),
        ("DELETE", f"/calendars/{cal}", {"headers": h}),
        ("GET", "/calendars/groups", {"params": {"locationId": loc}, "headers": h}),
        ("POST", "/calendars/groups", {"json": group, "headers": h}),
        ("PUT", f"/calendars/groups/{grp}", {"json": group, "headers": h}),
        ("DELETE", f"/calendars/groups/{grp}", {"headers": h}),
        ("GET", "/calendars/webhooks", {"params": {"locationId": loc}, "headers": h}),
        ("POST", "/calendars/webhooks",
         {"json": {"locationId": loc, "url": "http://127.0.0.1:9/hook"}, "headers": h}),
        ("DELETE", "/calendars/webhooks/w1", {"headers": h}),
        ("GET", "/calendars/groups", {"params": {"locationId": loc}, "headers": stranger}),
        ("GET", "/readyz", {}),
        ("POST", "/_admin/reset", {"json": {"locationId": loc}, "headers": admin}),
        ("POST", "/_admin/fixtures",
         {"json": {"locations": [{"id": "fx1", "timezone": "UTC"}]}, "headers": admin}),
        ("GET", "/_admin/fixtures", {"headers": admin}),
        ("GET", "/_admin/webhooks", {"headers": admin}),
        ("GET", "/_admin/webhooks/dead-letters", {"headers": admin}),
    ]  # fmt: skip


def outage_settings(url: str, **more: Any) -> Settings:
    return Settings(
        database_url=url,
        pool_size=2,
        token_cache_seconds=0,  # every request looks its token up
        admin_token=ADMIN_TOKEN,
        webhook_dispatch=False,
        retry_after_seconds=RETRY_AFTER,
        **more,
    )


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of an app that owns its store (with the serving timeouts)."""
    store = open_store(settings.database_url, pool_size=2, timeouts=serving_timeouts(settings))
    transport = httpx.ASGITransport(app=create_app(settings, store), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            yield client
    finally:
        await store.dispose()
        gc.collect()  # aiosqlite's thread of a connection that failed to open, while the loop runs
        await asyncio.sleep(0.05)


@asynccontextmanager
async def proxied(database_url: str) -> AsyncIterator[tuple[DbProxy, str, Tenant]]:
    """A proxy in front of the test's PostgreSQL database, its URL, and a tenant in it."""
    [tenant] = await seed_tenants(database_url)
    target = sa.make_url(PG_URL)
    with DbProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        url = sa.make_url(database_url).set(host="127.0.0.1", port=proxy.port)
        yield proxy, url.render_as_string(hide_password=False), tenant


async def _terminate(database_url: str) -> None:
    name = sa.make_url(database_url).database
    await _pg_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )


async def _ask(client: httpx.AsyncClient, call: tuple[str, str, dict[str, Any]]) -> httpx.Response:
    method, path, options = call
    return await client.request(method, path, **options)


def _verdict(answer: httpx.Response) -> tuple[int, str | None, object]:
    return answer.status_code, answer.headers.get("retry-after"), answer.json().get("statusCode")


BREAKS: dict[str, Callable[[DbProxy], None]] = {
    "refused": DbProxy.refuse,
    "starting up": DbProxy.reject,
}


@pytest.mark.parametrize("database_url", POSTGRESQL, indirect=True)
@pytest.mark.parametrize("away", list(BREAKS))
async def test_every_path_answers_503_with_retry_after_while_postgresql_is_away(
    database_url: str, away: str
) -> None:
    async with (
        proxied(database_url) as (proxy, url, tenant),
        served(outage_settings(url)) as client,
    ):
        warm = await client.get(
            "/calendars/groups", params={"locationId": tenant.location_id}, headers=tenant.headers()
        )
        assert warm.status_code == 200  # the pool holds live connections, then:
        BREAKS[away](proxy)
        answers = {f"{c[0]} {c[1]} {i}": await _ask(client, c) for i, c in enumerate(calls(tenant))}
    wrong = {k: _verdict(a) for k, a in answers.items() if _verdict(a) != (503, "7", 503)}
    assert not wrong, wrong


@pytest.fixture
def gone_sqlite(tmp_path: Path) -> str:
    """A SQLite URL whose file cannot be opened (a directory stands in its place)."""
    (tmp_path / "gone.db").mkdir()
    return f"sqlite:///{tmp_path / 'gone.db'}"


async def test_every_path_answers_503_with_retry_after_while_sqlite_is_away(
    gone_sqlite: str,
) -> None:
    tenant = Tenant("loc1", "UTC", "user1", "group1", "cal1", "pit-some-token-value")
    async with served(outage_settings(gone_sqlite)) as client:
        answers = {f"{c[0]} {c[1]} {i}": await _ask(client, c) for i, c in enumerate(calls(tenant))}
    wrong = {k: _verdict(a) for k, a in answers.items() if _verdict(a) != (503, "7", 503)}
    assert not wrong, wrong


@pytest.mark.parametrize("database_url", POSTGRESQL, indirect=True)
async def test_no_500_under_load_while_postgresql_goes_and_comes_back(database_url: str) -> None:
    seen: Counter[tuple[int, str | None]] = Counter()
    async with (
        proxied(database_url) as (proxy, url, tenant),
        served(outage_settings(url)) as client,
    ):
        todo = calls(tenant)
        running = True

        async def worker(n: int) -> None:
            while running:
                answer = await _ask(client, todo[n % len(todo)])
                n += 7
                if answer.status_code >= 500:
                    seen[answer.status_code, answer.headers.get("retry-after")] += 1

        workers = [asyncio.create_task(worker(i)) for i in range(8)]
        try:
            for away in (proxy.refuse, proxy.reject, proxy.cut):
                await asyncio.sleep(0.3)
                away()
                for _ in range(3):
                    await _terminate(database_url)
                    await asyncio.sleep(0.3)
                proxy.restore()
        finally:
            running = False
            await asyncio.gather(*workers)
    assert seen, "the outages were not seen"
    assert set(seen) == {(503, "7")}, seen


@pytest.mark.parametrize("database_url", POSTGRESQL, indirect=True)
async def test_a_black_hole_is_a_503_within_the_timeouts(database_url: str) -> None:
    timeouts = {
        "database_connect_timeout_seconds": 0.3,
        "database_statement_timeout_seconds": 0.3,
        "database_pool_timeout_seconds": 0.3,
    }
    bound = 5 * 0.6  # a request may wait twice (its token, then its work); 5x headroom
    async with proxied(database_url) as (proxy, url, tenant):
        chosen = [c for c in calls(tenant) if c[1] in ("/calendars/groups", "/readyz")]
        chosen += [c for c in calls(tenant) if c[0] == "POST" and c[1].startswith("/_admin")]
        settings = outage_settings(url, **timeouts)
        async with served(settings) as warm, served(settings) as cold:
            assert (await _ask(warm, chosen[0])).status_code == 200
            proxy.black_hole()  # the warm pool's connections hang; new ones never start up
            for client in (warm, cold):
                for call in chosen:
                    started = time.monotonic()
                    answer = await asyncio.wait_for(_ask(client, call), timeout=20)
                    took = time.monotonic() - started
                    assert _verdict(answer) == (503, "7", 503), call
                    assert took < bound, (call, took)
            proxy.restore()
            assert (await _ask(warm, chosen[0])).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_write_waiting_for_a_busy_sqlite_is_a_503_within_the_timeout(
    database_url: str,
) -> None:
    url = database_url
    path = sa.make_url(url).database or ""
    [tenant] = await seed_tenants(url)
    [create] = [c for c in calls(tenant) if c[:2] == ("POST", "/calendars/events/block-slots")]
    groups = next(c for c in calls(tenant) if c[1] == "/calendars/groups")
    settings = outage_settings(url, database_statement_timeout_seconds=0.3)
    async with served(settings) as client:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process's writer, taking its time
        try:
            started = time.monotonic()
            answer = await _ask(client, create)
            took = time.monotonic() - started
            assert (await _ask(client, groups)).status_code == 200  # readers go on
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert _verdict(answer) == (503, "7", 503)
        assert took < 5 * 0.3, took  # not SQLite's default busy timeout of 5 s
        assert (await _ask(client, create)).status_code == 201


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def away_store_url(
    request: pytest.FixtureRequest, gone_sqlite: str
) -> AsyncIterator[tuple[str, Callable[[], None]]]:
    """A database URL and how to bring it back (SQLite: never; PostgreSQL: the proxy)."""
    if request.param == "sqlite":
        yield gone_sqlite, lambda: None
        return
    async with proxied(pg_url(request.getfixturevalue("pg_template"))) as (proxy, url, _):
        proxy.refuse()
        yield url, proxy.restore


async def test_the_dispatcher_keeps_polling_through_an_outage_and_says_so_once(
    away_store_url: tuple[str, Callable[[], None]], caplog: pytest.LogCaptureFixture
) -> None:
    url, restore = away_store_url
    settings = outage_settings(url, webhook_poll_seconds=0.01)
    store = open_store(url, pool_size=1, timeouts=serving_timeouts(settings))
    dispatcher = Dispatcher(store, settings, wall_clock_ms, event_json)
    try:
        with caplog.at_level(logging.INFO, logger="slotblock.webhooks"):
            dispatcher.start()
            await asyncio.sleep(0.5)  # dozens of rounds
            restore()
            await asyncio.sleep(0.3)
            await dispatcher.stop()
    finally:
        await store.dispose()
        gc.collect()
        await asyncio.sleep(0.05)
    messages = [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.exc_info], messages[:3]
    assert sum("paused" in m for m in messages) == 1, messages[:3]
    if "postgresql" in url:
        assert sum("resumed" in m for m in messages) == 1, messages


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), 503),
        (ConnectionRefusedError(111, "Connect call failed"), 503),
        (TimeoutError(), 500),  # not the database's: a bug, not an outage
    ],
)
async def test_what_escapes_every_handler_is_an_outage_only_when_it_is_the_databases(
    settings: Settings, store: Store, tenant: Tenant, raised: Exception, status: int
) -> None:
    async with client_with(settings, store, retry_after_seconds=RETRY_AFTER) as (client, svc):

        async def failing(*_: object) -> None:
            raise raised

        svc.calendars.list_groups = failing  # type: ignore[method-assign,assignment]
        answer = await client.get(
            "/calendars/groups", params={"locationId": tenant.location_id}, headers=tenant.headers()
        )
    expected = (503, "7", 503) if status == 503 else (500, None, 500)
    assert _verdict(answer) == expected
