"""The official Python SDK's OAuth, unchanged but for its base URL, against a live
slotblock on SQLite and PostgreSQL: it follows its own authorization URL (pointed at
slotblock), exchanges the code through its OAuth service, calls blocked-slots with the
token from its session storage; the service's clock then moves past the token's expiry,
and the SDK, answered 401, refreshes by itself (its refresh_token grant, camelCase) and
goes on. A company's token goes through the SDK's location-token exchange too."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from slotblock.config import Settings
from tests.conformance.test_sdk_js import HERE, missing
from tests.conftest import IN_CI
from tests.live import live_server
from tests.oauth.conftest import AGENCY_APP, CALENDAR, CLINIC, COMPANY, DOCUMENT, LOCATION_APP
from tests.toolkit.conftest import ADMIN, ADMIN_TOKEN

highlevel = pytest.importorskip("highlevel", reason="gohighlevel-api-client is a test dependency")
models = pytest.importorskip("highlevel.services.oauth.models")

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    # The SDK's OAuth service hands httpx an encoded form as `data=` (httpx warns).
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]
WINDOW = {"start_time": "1767567600000", "end_time": "1767999600000"}


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with live_server(Settings(database_url=database_url, admin_token=ADMIN_TOKEN)) as base:
        loaded = httpx.post(f"{base}/_admin/fixtures", json=DOCUMENT, headers=ADMIN)
        assert loaded.status_code == 201, loaded.text
        yield base


def sdk(base: str, app: dict[str, Any]) -> Any:
    local = type("LocalHighLevel", (highlevel.HighLevel,), {"BASE_URL": base})
    return local(client_id=app["clientId"], client_secret=app["clientSecret"])


def code_from(ghl: Any, base: str, app: dict[str, Any]) -> str:
    """Follow the SDK's own authorization URL, its host replaced by slotblock's."""
    url = ghl.oauth.get_authorization_url(
        app["clientId"], app["redirectUris"][0], " ".join(app["scopes"])
    )
    parts = urlsplit(url)
    assert parts.path == "/v2/oauth/chooselocation"
    answer = httpx.get(f"{base}{parts.path}?{parts.query}")
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


async def test_the_sdk_logs_in_and_refreshes_by_itself_past_expiry(server: str) -> None:
    ghl = sdk(server, LOCATION_APP)
    seen: list[tuple[str, int]] = []

    async def record(response: httpx.Response) -> None:
        seen.append((response.request.url.path, response.status_code))

    ghl.http_client.event_hooks["response"].insert(0, record)
    try:
        token = await ghl.oauth.get_access_token(
            {
                "client_id": LOCATION_APP["clientId"],
                "client_secret": LOCATION_APP["clientSecret"],
                "grant_type": "authorization_code",
                "code": code_from(ghl, server, LOCATION_APP),
                "user_type": "Location",
                "redirect_uri": LOCATION_APP["redirectUris"][0],
            }
        )
        assert token["userType"] == "Location" and token["locationId"] == CLINIC
        parsed = models.GetAccessTokenSuccessfulResponseDto.model_validate(token)
        assert parsed.userId == token["userId"] and parsed.locationId == CLINIC
        await ghl.session_storage.set_session(token["locationId"], token)
        first = await ghl.calendars.get_blocked_slots(CLINIC, calendar_id=CALENDAR, **WINDOW)
        assert first == {"events": []}
        async with httpx.AsyncClient(base_url=server, headers=ADMIN) as admin:
            moved = await admin.post("/_admin/clock", json={"advance": "25h"})
        assert moved.status_code == 200, moved.text
        seen.clear()
        again = await ghl.calendars.get_blocked_slots(CLINIC, calendar_id=CALENDAR, **WINDOW)
        assert again == {"events": []}
        assert seen == [
            ("/calendars/blocked-slots", 401),
            ("/oauth/token", 200),
            ("/calendars/blocked-slots", 200),
        ]
        session = await ghl.session_storage.get_session(CLINIC)
        assert session["access_token"] != token["access_token"]
        assert session["refresh_token"] != token["refresh_token"]
        seen.clear()
        await ghl.calendars.get_blocked_slots(CLINIC, calendar_id=CALENDAR, **WINDOW)
        assert seen == [("/calendars/blocked-slots", 200)]  # the new token, no refresh
    finally:
        await ghl.close()


async def test_the_sdk_exchanges_a_company_token_for_a_location_token(server: str) -> None:
    ghl = sdk(server, AGENCY_APP)
    try:
        company = await ghl.oauth.get_access_token(
            {
                "client_id": AGENCY_APP["clientId"],
                "client_secret": AGENCY_APP["clientSecret"],
                "grant_type": "authorization_code",
                "code": code_from(ghl, server, AGENCY_APP),
                "user_type": "Company",
            }
        )
        assert company["userType"] == "Company" and company["companyId"] == COMPANY
        await ghl.session_storage.set_session(COMPANY, company)
        location = await ghl.oauth.get_location_access_token(
            {"companyId": COMPANY, "locationId": CLINIC},
            {"headers": {"companyId": COMPANY}},
        )
        assert location["locationId"] == CLINIC and location["access_token"]
        exchanged = models.GetLocationAccessTokenSuccessfulResponseDto.model_validate(location)
        assert exchanged.access_token == location["access_token"]
        assert exchanged.expires_in == 86399 and exchanged.appId == "agencyApp01"
        installed = await ghl.oauth.get_installed_location(
            COMPANY, "agencyApp01", options={"headers": {"companyId": COMPANY}}
        )
        assert [loc["_id"] for loc in installed["locations"]] == ["annexLocation01", CLINIC]
        listed = models.GetInstalledLocationsSuccessfulResponseDto.model_validate(installed)
        assert listed.count == 2 and listed.installToFutureLocations is True
        await ghl.session_storage.set_session(CLINIC, location)
        found = await ghl.calendars.get_blocked_slots(CLINIC, calendar_id=CALENDAR, **WINDOW)
        assert found == {"events": []}
    finally:
        await ghl.close()


def test_the_js_sdk_exchanges_tokens(server: str) -> None:
    if reason := missing():
        if IN_CI:
            pytest.fail(f"CI runs the JavaScript SDK: {reason}")
        pytest.skip(reason)
    env = {
        **os.environ,
        "SLOTBLOCK_URL": server,
        "CLIENT_ID": AGENCY_APP["clientId"],
        "CLIENT_SECRET": AGENCY_APP["clientSecret"],
        "REDIRECT_URI": AGENCY_APP["redirectUris"][0],
        "COMPANY_ID": COMPANY,
        "LOCATION_ID": CLINIC,
        "CALENDAR_ID": CALENDAR,
        "APP_ID": "agencyApp01",
    }
    result = subprocess.run(
        ["node", "oauth.mjs"],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["ok"] is True
