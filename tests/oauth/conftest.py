"""A fixture document with OAuth: a company owning two locations, a sub-account app and
an agency app, and the helpers of the authorize step and the token endpoint."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.toolkit.conftest import ADMIN, admin_client, admin_settings

__all__ = ["admin_client", "admin_settings"]  # the toolkit's fixtures, for these tests

COMPANY, CLINIC, ANNEX, LONE = "agencyCompany01", "clinicLocation01", "annexLocation01", "lone01"
CALENDAR = "room1Calendar01"
LOCATION_APP: dict[str, Any] = {
    "clientId": "bookingApp01-mq3kz1",
    "clientSecret": "booking-app-secret-0001",
    "name": "Booking app",
    "redirectUris": ["https://app.example.com/oauth/callback"],
    "scopes": ["calendars/events.readonly", "calendars/events.write", "calendars.readonly"],
    "distribution": "location",
    "locationId": CLINIC,
}
AGENCY_APP: dict[str, Any] = {
    "clientId": "agencyApp01-x9w2",
    "clientSecret": "agency-app-secret-0001",
    "name": "Agency app",
    "redirectUris": ["https://agency.example.com/cb"],
    "scopes": ["oauth.readonly", "oauth.write", "calendars/events.readonly"],
    "distribution": "agency",
    "companyId": COMPANY,
}
DOCUMENT: dict[str, Any] = {
    "clock": {"now": "2026-01-05T09:00:00+01:00"},
    "locations": [
        {
            "id": CLINIC,
            "name": "Clinic",
            "timezone": "Europe/Paris",
            "calendars": [{"id": CALENDAR, "name": "Room 1"}],
        },
        {"id": ANNEX, "name": "Annex", "timezone": "Europe/Paris"},
        {"id": LONE, "name": "Lone", "timezone": "Europe/Paris"},
    ],
    "companies": [{"id": COMPANY, "name": "Agency", "locations": [CLINIC, ANNEX]}],
    "apps": [LOCATION_APP, AGENCY_APP],
}
V2 = {"Version": "2021-07-28"}


async def load_document(client: httpx.AsyncClient, document: dict[str, Any] = DOCUMENT) -> None:
    loaded = await client.post("/_admin/fixtures", json=document, headers=ADMIN)
    assert loaded.status_code == 201, loaded.text


def code_of(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


async def authorize(client: httpx.AsyncClient, app: dict[str, Any], **params: str) -> str:
    query = {"client_id": app["clientId"], "response_type": "code", **params}
    return code_of(await client.get("/oauth/chooselocation", params=query))


async def exchange(client: httpx.AsyncClient, app: dict[str, Any], **fields: str) -> httpx.Response:
    form = {"client_id": app["clientId"], "client_secret": app["clientSecret"], **fields}
    return await client.post("/oauth/token", data=form)


async def login(client: httpx.AsyncClient, app: dict[str, Any], **params: str) -> dict[str, Any]:
    code = await authorize(client, app, **params)
    answer = await exchange(client, app, grant_type="authorization_code", code=code)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **V2}
