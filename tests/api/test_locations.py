"""`GET /locations/{locationId}` (get-location) over HTTP, on both backends: the token's own
location in the official shape (its company's id when one owns it), 403 for another's, and its scope rule (`locations.readonly`
or `calendars.readonly`)."""

from __future__ import annotations

import httpx
import pytest

from slotblock.core.model import CALENDARS_READ, EVENTS_READ, EVENTS_WRITE, LOCATIONS_READ
from slotblock.service.container import Services
from slotblock.store import oauth as oauth_store
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio


async def test_the_tokens_own_location(client: httpx.AsyncClient, tenant: Tenant) -> None:
    answer = await client.get(f"/locations/{tenant.location_id}", headers=tenant.headers())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "location": {"id": tenant.location_id, "name": "Test location", "timezone": "Asia/Kolkata"}
    }


async def test_a_company_owned_location_names_its_company(
    client: httpx.AsyncClient, services: Services, tenant: Tenant, other: Tenant
) -> None:
    async with services.store.begin() as conn:
        await oauth_store.insert_company(conn, "agency0000000001", "Agency", 0)
        await oauth_store.own_location(conn, "agency0000000001", tenant.location_id)
    answer = await client.get(f"/locations/{tenant.location_id}", headers=tenant.headers())
    assert answer.json()["location"]["companyId"] == "agency0000000001"
    answer = await client.get(f"/locations/{other.location_id}", headers=other.headers())
    assert "companyId" not in answer.json()["location"]  # owned by no company


async def test_another_locations_id_is_forbidden(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant
) -> None:
    for location_id in (other.location_id, "noSuchLocation01"):
        answer = await client.get(f"/locations/{location_id}", headers=tenant.headers())
        assert answer.status_code == 403, location_id
        assert answer.json() == {
            "statusCode": 403,
            "message": "The token does not have access to this location.",
            "error": "Forbidden",
        }


@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        ((LOCATIONS_READ,), 200),
        ((CALENDARS_READ,), 200),
        ((EVENTS_READ, EVENTS_WRITE), 401),
    ],
)
async def test_its_scope(
    client: httpx.AsyncClient,
    services: Services,
    tenant: Tenant,
    scopes: tuple[str, ...],
    status: int,
) -> None:
    token, _ = await services.tenants.create_token(tenant.location_id, scopes, "scoped")
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    answer = await client.get(f"/locations/{tenant.location_id}", headers=headers)
    assert answer.status_code == status, answer.text
    if status == 401:
        assert answer.json()["message"] == "The token is not authorized for this scope."


async def test_headers_as_every_api_call(client: httpx.AsyncClient, tenant: Tenant) -> None:
    path = f"/locations/{tenant.location_id}"
    no_version = {"Authorization": f"Bearer {tenant.token}"}
    assert (await client.get(path, headers=no_version)).json()["message"] == (
        "version header was not found."
    )
    refused = await client.get(path, headers={"Version": "2021-07-28"})
    assert refused.status_code == 401
    assert refused.json()["message"] == "Invalid token: access token is invalid"


async def test_described_in_the_served_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/locations/{locationId}"]["get"]
    assert operation["operationId"] == "get-location"
    assert operation["security"] == [{"bearer": []}]
    parameters = {(p["in"], p["name"]): p for p in operation["parameters"]}
    assert parameters[("header", "Version")]["required"]
    assert parameters[("path", "locationId")]["description"] == "Location Id"
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/GetLocationByIdSuccessfulResponseDto")
    assert set(operation["responses"]) >= {"200", "401", "403"}
