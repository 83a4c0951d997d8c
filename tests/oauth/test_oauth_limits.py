"""The OAuth settings: how long an access token lives (SLOTBLOCK_OAUTH_ACCESS_TOKEN_SECONDS)
and how many codes and tokens one installation keeps (SLOTBLOCK_OAUTH_LIVE_TOKENS): an
authorize step anyone can call, or a refresh loop, cannot grow the database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.store import Store
from slotblock.store.tables import oauth_grants
from tests.oauth.conftest import (
    CALENDAR,
    CLINIC,
    LOCATION_APP,
    authorize,
    bearer,
    exchange,
    load_document,
    login,
)
from tests.toolkit.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.anyio


@pytest.fixture
async def limited(database_url: str, store: Store) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url,
        pool_size=2,
        admin_token=ADMIN_TOKEN,
        oauth_live_tokens=2,
        oauth_access_token_seconds=60,
        token_cache_seconds=0,
    )
    transport = httpx.ASGITransport(app=create_app(settings, store), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield client


async def kinds(store: Store) -> list[str]:
    async with store.read() as conn:
        rows = await conn.execute(sa.select(oauth_grants.c.kind).order_by(oauth_grants.c.kind))
        return list(rows.scalars())


async def test_an_installation_keeps_at_most_the_live_token_limit(
    limited: httpx.AsyncClient, store: Store
) -> None:
    await load_document(limited)
    for _ in range(5):
        await authorize(limited, LOCATION_APP)
    assert await kinds(store) == ["code", "code"]
    sessions = [await login(limited, LOCATION_APP) for _ in range(3)]
    assert sessions[0]["expires_in"] == 60
    assert await kinds(store) == ["access", "access", "code", "refresh", "refresh"]
    query = {"locationId": CLINIC, "calendarId": CALENDAR, "startTime": "0", "endTime": "1"}
    oldest = await limited.get(
        "/calendars/blocked-slots", params=query, headers=bearer(sessions[0]["access_token"])
    )
    assert oldest.status_code == 401  # the oldest was deleted to make room
    newest = await limited.get(
        "/calendars/blocked-slots", params=query, headers=bearer(sessions[2]["access_token"])
    )
    assert newest.status_code == 200, newest.text
    refreshed = await exchange(
        limited,
        LOCATION_APP,
        grant_type="refresh_token",
        refresh_token=sessions[0]["refresh_token"],
    )
    assert refreshed.status_code == 400  # gone with the room it made


async def test_a_form_with_too_many_fields_is_refused(limited: httpx.AsyncClient) -> None:
    form = "&".join(f"f{i}=x" for i in range(40))
    answer = await limited.post(
        "/oauth/token",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
