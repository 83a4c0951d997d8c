"""Headers, tokens, scopes and tenancy, as the platform answers them."""

from __future__ import annotations

import httpx
import pytest

from slotblock.core.errors import Unauthenticated
from slotblock.service.auth import Authenticator
from slotblock.service.container import Services
from slotblock.store import Store
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio


def query(t: Tenant) -> str:
    return (
        f"/calendars/blocked-slots?locationId={t.location_id}&calendarId={t.calendar_id}"
        "&startTime=1680373800000&endTime=1680978599999"
    )


@pytest.mark.parametrize("version", ["2021-04-15", "2021-07-28", "2023-02-21", "v3"])
async def test_accepted_versions(client: httpx.AsyncClient, tenant: Tenant, version: str) -> None:
    response = await client.get(query(tenant), headers=tenant.headers(version))
    assert response.status_code == 200, response.text
    assert response.json() == {"events": []}


async def test_missing_version(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(query(tenant), headers={"Authorization": f"Bearer {tenant.token}"})
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "version header was not found.",
        "error": "Unauthorized",
    }


async def test_unknown_version(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(query(tenant), headers=tenant.headers("2020-01-01"))
    assert response.status_code == 401
    assert response.json()["message"] == "version header is invalid"


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer   ", "Basic abc", "pit-x"])
async def test_no_token(
    client: httpx.AsyncClient, tenant: Tenant, authorization: str | None
) -> None:
    headers = {"Version": "2021-07-28"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await client.get(query(tenant), headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid token: access token is invalid"


async def test_unknown_token(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {"Authorization": "Bearer pit-nottherealtoken", "Version": "v3"}
    response = await client.get(query(tenant), headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid Private Integration token"


async def test_revoked_token(client: httpx.AsyncClient, services: Services, tenant: Tenant) -> None:
    tokens = await services.tenants.list_tokens(tenant.location_id)
    await services.tenants.revoke_token(tokens[0].id)
    response = await client.get(query(tenant), headers=tenant.headers())
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid Private Integration token"


async def test_missing_scope(client: httpx.AsyncClient, services: Services, tenant: Tenant) -> None:
    token, _ = await services.tenants.create_token(tenant.location_id, ["calendars.readonly"])
    headers = {"Authorization": f"Bearer {token}", "Version": "v3"}
    response = await client.get(query(tenant), headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "The token is not authorized for this scope."
    # the scope it has works
    calendars = await client.get(f"/calendars/?locationId={tenant.location_id}", headers=headers)
    assert calendars.status_code == 200


async def test_other_location_is_forbidden(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant
) -> None:
    response = await client.get(query(other), headers=tenant.headers())
    assert response.status_code == 403
    assert response.json() == {
        "statusCode": 403,
        "message": "The token does not have access to this location.",
        "error": "Forbidden",
    }


async def test_auth_is_checked_before_the_query(client: httpx.AsyncClient) -> None:
    response = await client.get("/calendars/blocked-slots?bogus=1", headers={"Version": "v3"})
    assert response.status_code == 401


async def test_token_cache_bounds_revocation(
    services: Services, store: Store, tenant: Tenant
) -> None:
    now = [100.0]
    cached = Authenticator(store, ttl=5, clock=lambda: now[0])
    uncached = Authenticator(store, ttl=0)
    assert (await cached.authenticate(tenant.token)).location.id == tenant.location_id
    [info] = await services.tenants.list_tokens(tenant.location_id)
    await services.tenants.revoke_token(info.id)
    with pytest.raises(Unauthenticated):
        await uncached.authenticate(tenant.token)
    assert (await cached.authenticate(tenant.token)).token_id == info.id  # within the TTL
    now[0] += 5
    with pytest.raises(Unauthenticated):
        await cached.authenticate(tenant.token)
