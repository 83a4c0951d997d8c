"""The cache contract of service/caches/__init__.py, on SQLite and PostgreSQL: a reset and a
load with the same ids never serve an answer cached from before, in the process that reset
or in another one."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.service.container import Services
from slotblock.toolkit.service.fixtures import FixtureService, RuleLimits

pytestmark = pytest.mark.anyio

ADMIN = {"Authorization": "Bearer sba-cache-contract-admin-01"}
TOKEN = "pit-cache-contract-token-0001"
API = {"Authorization": f"Bearer {TOKEN}", "Version": "2021-07-28"}
LOCATION, CALENDAR, USER, GROUP = (
    "cacheLocation01",
    "cacheCalendar01",
    "cacheUser01",
    "cacheGroup01",
)
WEEK = {"locationId": LOCATION, "startTime": "1767567600000", "endTime": "1768172400000"}


def document(title: str, hour: int) -> dict[str, Any]:
    """The same ids each time; `title` and `hour` change the content."""
    start, end = f"2026-01-05T{hour:02d}:00:00+01:00", f"2026-01-05T{hour + 1:02d}:00:00+01:00"
    return {
        "locations": [
            {
                "id": LOCATION,
                "name": "Cache",
                "timezone": "Europe/Paris",
                "users": [{"id": USER, "name": "Ann"}],
                "groups": [{"id": GROUP, "name": "G"}],
                "calendars": [
                    {
                        "id": CALENDAR,
                        "name": "C",
                        "groupId": GROUP,
                        "teamMembers": [{"userId": USER}],
                    }
                ],
                "blocks": [
                    {
                        "id": "cacheBlock01",
                        "calendarId": CALENDAR,
                        "title": title,
                        "startTime": start,
                        "endTime": end,
                    },
                    {
                        "id": "cacheSeries01",
                        "assignedUserId": USER,
                        "title": title,
                        "startTime": start,
                        "endTime": end,
                        "rrule": "RRULE:FREQ=DAILY",
                    },
                ],
                "tokens": [{"id": "cacheToken01", "name": "t", "token": TOKEN}],
            }
        ]
    }


OFF = {
    "direct_reads": False,
    "lean_query_route": False,
    **{f"{name}_cache_bytes": 0 for name in ("expansion", "fragment", "answer", "block")},
}


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
            yield client, app.state.services
    finally:
        await app.state.services.store.dispose()


@pytest.fixture
async def clients(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """This process's app (every cache on, the admin API on), another process's (every cache
    on: it never hears of the reset), and a reference without caches."""
    base = Settings(database_url=database_url, pool_size=2)
    here = base.model_copy(update={"admin_token": ADMIN["Authorization"][7:]})
    async with (
        app_client(here) as (a, _),
        app_client(base) as (b, _),
        app_client(base.model_copy(update=OFF)) as (c, _),
    ):
        yield a, b, c


async def answers(client: httpx.AsyncClient) -> list[bytes]:
    out = []
    for target in ({"calendarId": CALENDAR}, {"userId": USER}, {"groupId": GROUP}):
        response = await client.get("/calendars/blocked-slots", params=WEEK | target, headers=API)
        assert response.status_code == 200, response.text
        out.append(response.content)
    free_busy = WEEK | {"calendarId": CALENDAR, "userId": USER}
    response = await client.get("/calendars/free-busy", params=free_busy, headers=API)
    out.append(response.content)
    return out


@pytest.mark.parametrize("scope", ["everything", "location"])
async def test_reset_and_load_with_the_same_ids_never_serve_an_old_answer(
    clients: tuple[httpx.AsyncClient, ...], monkeypatch: pytest.MonkeyPatch, scope: str
) -> None:
    # A loaded block's version once came from a random draw: the draws repeating here
    # must change nothing.
    monkeypatch.setattr(secrets, "randbelow", lambda _: 7)
    here, elsewhere, plain = clients
    loaded = await here.post("/_admin/fixtures", json=document("First", 9), headers=ADMIN)
    assert loaded.status_code == 201, loaded.text
    first = await answers(here)
    assert first == await answers(elsewhere) == await answers(plain)
    assert b"First" in first[0]
    for title, hour in (("Second", 9), ("Third", 14), ("First", 9)):
        path = "/_admin/reset" + (f"?locationId={LOCATION}" if scope == "location" else "")
        assert (await here.post(path, headers=ADMIN)).status_code == 200
        loaded = await here.post("/_admin/fixtures", json=document(title, hour), headers=ADMIN)
        assert loaded.status_code == 201, loaded.text
        want = await answers(plain)
        assert title.encode() in want[0]
        assert await answers(here) == want, title
        assert await answers(elsewhere) == want, title


async def test_loaded_versions_pass_every_version_before(database_url: str) -> None:
    """The rule the block caches rely on: a loaded block's version is its location's next
    change number, above any version its blocks ever had."""
    async with app_client(Settings(database_url=database_url, pool_size=2)) as (client, svc):
        fixtures = FixtureService(svc.store, RuleLimits(max_count=1_000), lambda: 0)
        await fixtures.load(document("First", 9))
        for n in range(3):
            edited = await client.put(
                "/calendars/events/block-slots/cacheBlock01",
                json={"locationId": LOCATION, "title": f"edit {n}"},
                headers=API,
            )
            assert edited.status_code == 201, edited.text
        exported = await fixtures.export(LOCATION)
        before = await svc.blocks.get(await svc.auth.authenticate(TOKEN), "cacheBlock01")
        await fixtures.reset(LOCATION)
        await fixtures.load(exported)
        svc.auth.forget()
        after = await svc.blocks.get(await svc.auth.authenticate(TOKEN), "cacheBlock01")
        assert after.block.version > before.block.version
