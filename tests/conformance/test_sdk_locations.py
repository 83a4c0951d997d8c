"""The official Python SDK's get-location (`ghl.locations.get_location`) against a live
slotblock, changed only in its base URL: the answer parses with the SDK's own model
(`GetLocationByIdSuccessfulResponseDto`, every field but id, name, timezone and the owning
company's id left out),
a token that reads calendars may read its location, and another location's id is 403."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from slotblock.config import Settings
from slotblock.core.model import CALENDARS_READ
from tests.conftest import Tenant, seed_tenants
from tests.live import live_server

highlevel = pytest.importorskip("highlevel", reason="gohighlevel-api-client is a test dependency")
models = pytest.importorskip("highlevel.services.locations.models")
errors = pytest.importorskip("highlevel.error")

pytestmark = pytest.mark.anyio
COMPANY = "agency0000000001"  # owns the first location


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[str, Tenant, Tenant, str]]:
    mine, theirs = asyncio.run(seed_tenants(database_url, ("Europe/Paris", "Asia/Tokyo")))
    reader = asyncio.run(_calendar_reader(database_url, mine.location_id))
    with live_server(Settings(database_url=database_url)) as base:
        yield base, mine, theirs, reader


async def _calendar_reader(url: str, location_id: str) -> str:
    from slotblock.service.container import build_services
    from slotblock.store import open_store

    store = open_store(url, pool_size=1)
    try:
        from slotblock.store import oauth as oauth_store

        tenants = build_services(store, Settings(database_url=url)).tenants
        token, _ = await tenants.create_token(location_id, (CALENDARS_READ,), "reader")
        async with store.begin() as conn:
            await oauth_store.insert_company(conn, COMPANY, "Agency", 0)
            await oauth_store.own_location(conn, COMPANY, location_id)
        return token
    finally:
        await store.dispose()


def sdk(base: str, token: str) -> object:
    client_class = type("LocalHighLevel", (highlevel.HighLevel,), {"BASE_URL": base})
    return client_class(private_integration_token=token)


async def test_get_location_through_the_official_sdk(
    world: tuple[str, Tenant, Tenant, str],
) -> None:
    base, mine, theirs, reader = world
    for token in (mine.token, reader):
        ghl: Any = sdk(base, token)
        try:
            answer = await ghl.locations.get_location(mine.location_id)
        finally:
            await ghl.close()
        parsed = models.GetLocationByIdSuccessfulResponseDto.model_validate(answer)
        assert parsed.location is not None
        assert (
            parsed.location.id,
            parsed.location.name,
            parsed.location.timezone,
            parsed.location.companyId,
        ) == (mine.location_id, "Test location", "Europe/Paris", COMPANY)
        assert parsed.location.address is None and parsed.location.settings is None
        assert set(answer["location"]) == {"id", "name", "timezone", "companyId"}

    ghl = sdk(base, mine.token)
    try:
        with pytest.raises(errors.GHLError) as refused:
            await ghl.locations.get_location(theirs.location_id)
    finally:
        await ghl.close()
    assert refused.value.status_code == 403
    assert "does not have access to this location" in str(refused.value)
