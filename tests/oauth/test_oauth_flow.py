"""OAuth as marketplace apps use it, over HTTP on SQLite and PostgreSQL: the authorize
step, the token endpoint's two grants, rotation, expiry by the service's clock, the
location-token exchange, installed locations, and the platform's errors."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from slotblock.core.oauth import AUTH_CLASS, INVALID_JWT
from slotblock.core.tokens import hash_token
from tests.conftest import snapshot
from tests.oauth.conftest import (
    AGENCY_APP,
    ANNEX,
    CALENDAR,
    CLINIC,
    COMPANY,
    DOCUMENT,
    LOCATION_APP,
    LONE,
    authorize,
    bearer,
    exchange,
    load_document,
    login,
)
from tests.toolkit.conftest import ADMIN, load, readme_file, readme_fixture

pytestmark = pytest.mark.anyio
WINDOW = {"startTime": "1767567600000", "endTime": "1767999600000"}


def blocked_slots(location: str = CLINIC) -> dict[str, str]:
    return {"locationId": location, "calendarId": CALENDAR, **WINDOW}


async def test_authorize_redirects_with_a_code_and_the_state(
    admin_client: httpx.AsyncClient,
) -> None:
    await load_document(admin_client)
    answer = await admin_client.get(
        "/oauth/chooselocation",
        params={
            "client_id": LOCATION_APP["clientId"],
            "redirect_uri": LOCATION_APP["redirectUris"][0],
            "response_type": "code",
            "scope": "calendars/events.readonly unknown.scope",
            "state": "xyz",
        },
    )
    assert answer.status_code == 302
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == LOCATION_APP["redirectUris"][0]
    query = parse_qs(target.query)
    assert query["state"] == ["xyz"] and len(query["code"][0]) == 43
    token = await exchange(
        admin_client, LOCATION_APP, grant_type="authorization_code", code=query["code"][0]
    )
    assert token.json()["scope"] == "calendars/events.readonly"  # only what the app has
    wrong = await admin_client.get(
        "/oauth/chooselocation",
        params={"client_id": LOCATION_APP["clientId"], "redirect_uri": "https://evil.example/"},
    )
    assert wrong.status_code == 400 and "redirect_uri" in wrong.json()["message"][0]
    unknown = await admin_client.get("/oauth/chooselocation", params={"client_id": "nope-1"})
    assert unknown.status_code == 400


async def test_a_location_token_works_like_a_private_token_of_its_location(
    admin_client: httpx.AsyncClient,
) -> None:
    await load_document(admin_client)
    body = await login(admin_client, LOCATION_APP)
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86399
    assert body["userType"] == "Location" and body["locationId"] == CLINIC
    assert body["companyId"] == COMPANY and body["userId"] and body["refresh_token"]
    assert body["scope"] == " ".join(LOCATION_APP["scopes"])
    headers = bearer(body["access_token"])
    found = await admin_client.get(
        "/calendars/blocked-slots", params=blocked_slots(), headers=headers
    )
    assert found.status_code == 200, found.text
    # tenancy: another location is refused as for a private token
    other = await admin_client.get(
        "/calendars/blocked-slots", params=blocked_slots(ANNEX), headers=headers
    )
    assert other.status_code == 403
    # scopes: the app has no groups scope
    groups = await admin_client.get(
        "/calendars/groups", params={"locationId": CLINIC}, headers=headers
    )
    assert groups.status_code == 401
    assert groups.json()["message"] == "The token is not authorized for this scope."


async def test_access_tokens_expire_by_the_service_clock_and_refresh_tokens_rotate(
    admin_client: httpx.AsyncClient,
) -> None:
    await load_document(admin_client)
    first = await login(admin_client, LOCATION_APP)
    moved = await admin_client.post("/_admin/clock", json={"advance": "86400s"}, headers=ADMIN)
    assert moved.status_code == 200, moved.text
    expired = await admin_client.get(
        "/calendars/blocked-slots", params=blocked_slots(), headers=bearer(first["access_token"])
    )
    assert expired.status_code == 401
    assert expired.json() == {"statusCode": 401, "message": INVALID_JWT, "error": "Unauthorized"}
    renewed = await exchange(
        admin_client, LOCATION_APP, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert renewed.status_code == 200, renewed.text
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["locationId"] == CLINIC and second["userId"] == first["userId"]
    works = await admin_client.get(
        "/calendars/blocked-slots", params=blocked_slots(), headers=bearer(second["access_token"])
    )
    assert works.status_code == 200
    reused = await exchange(
        admin_client, LOCATION_APP, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert reused.json()["error_description"] == "Invalid grant: refresh token is invalid"
    # the SDK's camelCase form is read too
    camel = await admin_client.post(
        "/oauth/token",
        data={
            "clientId": LOCATION_APP["clientId"],
            "clientSecret": LOCATION_APP["clientSecret"],
            "grantType": "refresh_token",
            "refreshToken": second["refresh_token"],
            "userType": "Location",
        },
    )
    assert camel.status_code == 200, camel.text


async def test_the_token_endpoint_refuses_as_the_platform_does(
    admin_client: httpx.AsyncClient,
) -> None:
    await load_document(admin_client)
    code = await authorize(admin_client, LOCATION_APP)
    wrong_secret = await admin_client.post(
        "/oauth/token",
        data={
            "client_id": LOCATION_APP["clientId"],
            "client_secret": "not-the-secret",
            "grant_type": "authorization_code",
            "code": code,
        },
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    first = await exchange(admin_client, LOCATION_APP, grant_type="authorization_code", code=code)
    assert first.status_code == 200  # the failed attempt did not use the code up
    again = await exchange(admin_client, LOCATION_APP, grant_type="authorization_code", code=code)
    assert again.status_code == 400
    assert again.json()["error_description"] == "Invalid grant: authorization code is invalid"
    other_app = await exchange(
        admin_client,
        AGENCY_APP,
        grant_type="refresh_token",
        refresh_token=first.json()["refresh_token"],
    )
    assert other_app.status_code == 400  # a token of another app is not this app's
    missing = await exchange(admin_client, LOCATION_APP, grant_type="authorization_code")
    assert missing.json()["error_description"] == "Missing parameter: `code`"
    grant = await exchange(admin_client, LOCATION_APP, grant_type="password")
    assert grant.json()["error"] == "unsupported_grant_type"
    as_json = await admin_client.post("/oauth/token", json={"client_id": "x"})
    assert as_json.status_code == 400
    # a code expires after ten minutes of the service's clock
    late = await authorize(admin_client, LOCATION_APP)
    await admin_client.post("/_admin/clock", json={"advance": "601s"}, headers=ADMIN)
    expired = await exchange(admin_client, LOCATION_APP, grant_type="authorization_code", code=late)
    assert expired.json()["error_description"] == "Invalid grant: authorization code has expired"


async def test_a_company_token_exchanges_location_tokens_and_lists_installs(
    admin_client: httpx.AsyncClient,
) -> None:
    await load_document(admin_client)
    company = await login(admin_client, AGENCY_APP)
    assert company["userType"] == "Company" and company["companyId"] == COMPANY
    assert "locationId" not in company and sorted(company["approvedLocations"]) == [ANNEX, CLINIC]
    headers = bearer(company["access_token"])
    # a company token on a location route: the platform's 401
    refused = await admin_client.get(
        "/calendars/blocked-slots", params=blocked_slots(), headers=headers
    )
    assert refused.status_code == 401 and refused.json()["message"] == AUTH_CLASS
    exchanged = await admin_client.post(
        "/oauth/locationToken",
        data={"companyId": COMPANY, "locationId": CLINIC},
        headers=headers,
    )
    assert exchanged.status_code == 200, exchanged.text
    location = exchanged.json()
    assert location["locationId"] == CLINIC and location["userType"] == "Location"
    assert location["userId"] == company["userId"] and location["appId"] == "agencyApp01"
    works = await admin_client.get(
        "/calendars/blocked-slots", params=blocked_slots(), headers=bearer(location["access_token"])
    )
    assert works.status_code == 200, works.text
    not_ours = await admin_client.post(
        "/oauth/location-token", data={"companyId": COMPANY, "locationId": LONE}, headers=headers
    )
    assert not_ours.status_code == 403
    other_company = await admin_client.post(
        "/oauth/locationToken",
        data={"companyId": "elsewhere", "locationId": CLINIC},
        headers=headers,
    )
    assert other_company.status_code == 403
    a_location_token = await admin_client.post(
        "/oauth/locationToken",
        data={"companyId": COMPANY, "locationId": CLINIC},
        headers=bearer(location["access_token"]),
    )
    assert a_location_token.status_code == 401 and a_location_token.json()["message"] == AUTH_CLASS
    listed = await admin_client.get(
        "/oauth/installedLocations",
        params={"companyId": COMPANY, "appId": "agencyApp01", "query": "Ann"},
        headers=headers,
    )
    assert listed.status_code == 200, listed.text
    assert listed.json() == {
        "locations": [{"_id": ANNEX, "name": "Annex", "address": "", "isInstalled": True}],
        "count": 1,
        "installToFutureLocations": True,
    }


async def test_installed_locations_of_a_sub_account_app(admin_client: httpx.AsyncClient) -> None:
    """A location app installed in one location: the company's other location is not."""
    document = {
        **DOCUMENT,
        "apps": [{**AGENCY_APP, "distribution": "location", "locationId": ANNEX}],
    }
    await load_document(admin_client, document)
    location = await login(admin_client, AGENCY_APP)
    assert location["userType"] == "Location" and location["locationId"] == ANNEX
    # no company token: a location's token cannot list
    refused = await admin_client.get(
        "/oauth/installedLocations",
        params={"companyId": COMPANY, "appId": "agencyApp01"},
        headers=bearer(location["access_token"]),
    )
    assert refused.status_code == 401


async def test_only_hashes_are_stored_and_a_reset_empties_oauth(
    admin_client: httpx.AsyncClient, store: object
) -> None:
    await load_document(admin_client)
    code = await authorize(admin_client, LOCATION_APP)
    body = (
        await exchange(admin_client, LOCATION_APP, grant_type="authorization_code", code=code)
    ).json()
    rows = await snapshot(store)  # type: ignore[arg-type]
    text = repr(rows)
    for secret in (body["access_token"], body["refresh_token"], code, LOCATION_APP["clientSecret"]):
        assert secret not in text
    assert hash_token(body["access_token"]) in text
    logged = (await admin_client.get("/_admin/requests", headers=ADMIN)).json()["requests"]
    exchanged = next(r for r in logged if r["path"] == "/oauth/token")
    assert "client_secret=%2A%2A%2A" in exchanged["body"] and "code=%2A%2A%2A" in exchanged["body"]
    assert LOCATION_APP["clientSecret"] not in repr(logged) and code not in repr(logged)
    # the log names an OAuth token by its grant's id, as a private token by its id
    await admin_client.get(
        "/calendars/blocked-slots", params=blocked_slots(), headers=bearer(body["access_token"])
    )
    logged = (await admin_client.get("/_admin/requests?limit=1", headers=ADMIN)).json()
    assert logged["requests"][0]["tokenId"] is not None
    exported = (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()
    apps = {app["clientId"]: app for app in exported["apps"]}
    assert apps[LOCATION_APP["clientId"]]["clientSecretHash"] == hash_token(
        LOCATION_APP["clientSecret"]
    )
    assert "clientSecret" not in apps[LOCATION_APP["clientId"]]
    assert exported["companies"] == [
        {"id": COMPANY, "name": "Agency", "locations": [ANNEX, CLINIC]}
    ]
    assert (await admin_client.post("/_admin/reset", headers=ADMIN)).status_code == 200
    gone = await admin_client.get(
        "/calendars/blocked-slots", params=blocked_slots(), headers=bearer(body["access_token"])
    )
    assert gone.status_code == 401
    rows = await snapshot(store)  # type: ignore[arg-type]
    oauth_tables = (
        "companies",
        "company_locations",
        "oauth_apps",
        "oauth_grants",
        "oauth_installs",
    )
    assert all(not rows[name] for name in oauth_tables), rows


async def test_the_admin_api_declares_companies_and_apps(admin_client: httpx.AsyncClient) -> None:
    document = {"locations": DOCUMENT["locations"]}
    await load_document(admin_client, document)
    company = {"id": COMPANY, "name": "Agency", "locations": [CLINIC]}
    added = await admin_client.post("/_admin/oauth/companies", json=company, headers=ADMIN)
    assert added.status_code == 201, added.text
    again = await admin_client.post("/_admin/oauth/companies", json=company, headers=ADMIN)
    assert again.status_code == 400
    assert again.json()["message"] == [
        f"$.companies[0].id: company {COMPANY} already exists",
        f"$.companies[0].locations[0]: location {CLINIC} already belongs to a company",
    ]
    taken = await admin_client.post(
        "/_admin/oauth/companies",
        json={"id": "second01", "locations": [CLINIC, "nowhere01"]},
        headers=ADMIN,
    )
    assert taken.json()["message"] == [
        f"$.companies[0].locations[0]: location {CLINIC} already belongs to a company",
        "$.companies[0].locations[1]: no location nowhere01",
    ]
    app = await admin_client.post("/_admin/oauth/apps", json=LOCATION_APP, headers=ADMIN)
    assert app.status_code == 201, app.text
    assert "clientSecret" not in app.json()
    bad = await admin_client.post(
        "/_admin/oauth/apps",
        json={**AGENCY_APP, "redirectUris": ["ftp://x"], "clientSecret": None, "scopes": ["a b"]},
        headers=ADMIN,
    )
    assert bad.status_code == 400
    assert bad.json()["message"] == [
        "$.apps[0]: exactly one of clientSecret or clientSecretHash is required",
        "$.apps[0].redirectUris[0]: must be an absolute http(s) URI",
        "$.apps[0].scopes[0]: must be 1-128 printable characters, no spaces",
    ]
    listed = (await admin_client.get("/_admin/oauth/apps", headers=ADMIN)).json()["apps"]
    assert [a["clientId"] for a in listed] == [LOCATION_APP["clientId"]]
    companies = (await admin_client.get("/_admin/oauth/companies", headers=ADMIN)).json()
    assert companies == {"companies": [company]}
    body = await login(admin_client, LOCATION_APP)
    assert body["companyId"] == COMPANY
    # what was exported loads again as it was
    exported = (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()
    assert (await admin_client.post("/_admin/reset", headers=ADMIN)).status_code == 200
    await load_document(admin_client, exported)
    assert (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json() == exported
    assert (await login(admin_client, LOCATION_APP))["locationId"] == CLINIC


async def test_the_readme_oauth_document_loads_over_the_readme_fixture(
    admin_client: httpx.AsyncClient,
) -> None:
    assert (await load(admin_client, readme_fixture())).status_code == 201
    loaded = await load(admin_client, readme_file("oauth.yaml"))
    assert loaded.status_code == 201, loaded.text
    body = await login(admin_client, LOCATION_APP)
    assert body["companyId"] == COMPANY and body["locationId"] == CLINIC
    week = {"locationId": CLINIC, "userId": "annUser01", **WINDOW}
    found = await admin_client.get(
        "/calendars/blocked-slots", params=week, headers=bearer(body["access_token"])
    )
    assert [e["title"] for e in found.json()["events"]][:2] == ["Focus", "Focus (moved)"]


async def test_resetting_a_location_ends_its_oauth_but_keeps_the_company(
    admin_client: httpx.AsyncClient,
) -> None:
    await load_document(admin_client)
    body = await login(admin_client, LOCATION_APP)
    reset = await admin_client.post("/_admin/reset", json={"locationId": CLINIC}, headers=ADMIN)
    assert reset.status_code == 200, reset.text
    gone = await admin_client.get(
        "/calendars/blocked-slots", params=blocked_slots(), headers=bearer(body["access_token"])
    )
    assert gone.status_code == 401
    refreshed = await exchange(
        admin_client, LOCATION_APP, grant_type="refresh_token", refresh_token=body["refresh_token"]
    )
    assert refreshed.status_code == 400
    companies = (await admin_client.get("/_admin/oauth/companies", headers=ADMIN)).json()
    assert companies == {"companies": [{"id": COMPANY, "name": "Agency", "locations": [ANNEX]}]}


async def test_company_tokens_expire_and_need_their_scopes(
    admin_client: httpx.AsyncClient,
) -> None:
    await load_document(admin_client)
    narrow = await login(admin_client, AGENCY_APP, scope="calendars/events.readonly")
    unscoped = await admin_client.post(
        "/oauth/locationToken",
        data={"companyId": COMPANY, "locationId": CLINIC},
        headers=bearer(narrow["access_token"]),
    )
    assert unscoped.status_code == 401
    assert unscoped.json()["message"] == "The token is not authorized for this scope."
    company = await login(admin_client, AGENCY_APP)
    no_version = await admin_client.post(
        "/oauth/locationToken",
        data={"companyId": COMPANY, "locationId": CLINIC},
        headers={"Authorization": f"Bearer {company['access_token']}"},
    )
    assert no_version.status_code == 401
    await admin_client.post("/_admin/clock", json={"advance": "1d"}, headers=ADMIN)
    expired = await admin_client.post(
        "/oauth/locationToken",
        data={"companyId": COMPANY, "locationId": CLINIC},
        headers=bearer(company["access_token"]),
    )
    assert expired.status_code == 401 and expired.json()["message"] == INVALID_JWT
    renewed = await exchange(
        admin_client, AGENCY_APP, grant_type="refresh_token", refresh_token=company["refresh_token"]
    )
    assert renewed.status_code == 200 and renewed.json()["userType"] == "Company"
    # a refresh token lives a year of the service's clock
    await admin_client.post("/_admin/clock", json={"advance": "366d"}, headers=ADMIN)
    stale = await exchange(
        admin_client,
        AGENCY_APP,
        grant_type="refresh_token",
        refresh_token=renewed.json()["refresh_token"],
    )
    assert stale.json()["error_description"] == "Invalid grant: refresh token has expired"
