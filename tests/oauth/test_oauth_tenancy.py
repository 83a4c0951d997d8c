"""An OAuth location token meets the tenancy matrix of private tokens (tests/api/
test_tenancy.py): every operation against another location's ids is 403 or 404, nothing
stored changes; and the scope rules are the same: a token with one scope is refused the
others, with the same answer as a private token."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from slotblock.core.model import SCOPES
from slotblock.core.oauth import App, Authorization, TokenRequest
from slotblock.core.tokens import hash_token
from slotblock.service.container import Services
from slotblock.store import Store
from slotblock.store import oauth as oauth_store
from tests.api.calls import create
from tests.api.test_tenancy import END, START, requests
from tests.conftest import Tenant, snapshot

pytestmark = pytest.mark.anyio


async def oauth_token(services: Services, location_id: str, scopes: tuple[str, ...]) -> str:
    """A location token of a new app installed in `location_id`, through the service."""
    app = App(
        id=f"app{len(scopes)}x{location_id[:8]}",
        client_id=f"app{len(scopes)}x{location_id[:8]}-c1",
        name="matrix",
        redirect_uris=("https://app.example.com/cb",),
        scopes=scopes,
        distribution="location",
        location_id=location_id,
    )
    async with services.store.begin() as conn:
        await oauth_store.insert_app(conn, app, hash_token("matrix-secret"), services.clock())
    _, code = await services.oauth.authorize(Authorization(client_id=app.client_id))
    request = TokenRequest(
        "authorization_code", app.client_id, "matrix-secret", code, None, None, None
    )
    body = await services.oauth.token(request)
    token: str = body["access_token"]
    return token


async def test_an_oauth_token_meets_the_tenancy_matrix(
    client: httpx.AsyncClient, store: Store, services: Services, tenant: Tenant, other: Tenant
) -> None:
    mine = (await create(client, tenant, startTime=START, endTime=END))["id"]
    series = await create(client, other, startTime=START, endTime=END, rrule="RRULE:FREQ=DAILY")
    theirs = (await create(client, other, startTime=START, endTime=END))["id"]
    instance = f"{series['id']}_1680516000000_3600"
    app_tenant = replace(tenant, token=await oauth_token(services, tenant.location_id, SCOPES))
    before = await snapshot(store)
    for method, url, body, status in requests(app_tenant, other, mine, theirs, instance):
        response = await client.request(method, url, json=body, headers=app_tenant.headers())
        assert response.status_code == status, (method, url, body, response.text)
    assert await snapshot(store) == before
    own = await client.get(f"/calendars/{tenant.calendar_id}", headers=app_tenant.headers())
    assert own.status_code == 200


async def test_an_oauth_token_has_only_its_scopes(
    client: httpx.AsyncClient, services: Services, tenant: Tenant
) -> None:
    reader = await oauth_token(services, tenant.location_id, ("calendars.readonly",))
    private, _ = await services.tenants.create_token(
        tenant.location_id, ("calendars.readonly",), "reader"
    )
    for token in (reader, private):
        headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
        listed = await client.get(f"/calendars/?locationId={tenant.location_id}", headers=headers)
        assert listed.status_code == 200, listed.text
        write = await client.post(
            "/calendars/events/block-slots",
            json={"locationId": tenant.location_id, "calendarId": tenant.calendar_id,
                  "startTime": START, "endTime": END},
            headers=headers,
        )  # fmt: skip
        assert write.status_code == 401
        assert write.json()["message"] == "The token is not authorized for this scope."
