"""The admin API's locations and tokens, on both backends: every location listed, a token
minted for one (working on the public API with the scopes asked for), listed and revoked;
404 while the admin API is off, 401 without the admin token (a location's token too)."""

from __future__ import annotations

import httpx
import pytest

from slotblock.api.schemas import event_json
from slotblock.config import Settings
from slotblock.service.workers.webhook_dispatcher import Dispatcher
from slotblock.store import Store
from tests.conftest import Tenant
from tests.toolkit.conftest import ADMIN, API, LOCATION, load, readme_fixture

pytestmark = pytest.mark.anyio

PATHS = [
    ("GET", "/_admin/locations"),
    ("POST", f"/_admin/locations/{LOCATION}/tokens"),
    ("GET", f"/_admin/locations/{LOCATION}/tokens"),
    ("DELETE", "/_admin/tokens/someToken01"),
]


def api_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}


async def test_off_without_an_admin_token(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for method, path in PATHS:
        answer = await client.request(method, path, headers=tenant.headers(), json={})
        assert answer.status_code == 404, (method, path)


async def test_unauthorised_is_401(admin_client: httpx.AsyncClient) -> None:
    assert (await load(admin_client, readme_fixture())).status_code == 201
    for headers in ({}, API, {"Authorization": "Bearer sba-not-the-admin-token"}):
        for method, path in PATHS:
            answer = await admin_client.request(method, path, headers=headers, json={})
            assert answer.status_code == 401, (method, path, headers)
            assert answer.json()["message"] == "Invalid admin token"


async def test_locations_listed(admin_client: httpx.AsyncClient) -> None:
    assert (await admin_client.get("/_admin/locations", headers=ADMIN)).json() == {"locations": []}
    assert (await load(admin_client, readme_fixture())).status_code == 201
    answer = await admin_client.get("/_admin/locations", headers=ADMIN)
    assert answer.status_code == 200
    assert answer.json() == {
        "locations": [{"id": LOCATION, "name": "Clinic", "timezone": "Europe/Paris"}]
    }


async def test_mint_use_list_and_revoke_a_token(admin_client: httpx.AsyncClient) -> None:
    assert (await load(admin_client, readme_fixture())).status_code == 201
    body = {"name": "web view", "scopes": ["calendars.readonly", "calendars/events.readonly"]}
    minted = await admin_client.post(
        f"/_admin/locations/{LOCATION}/tokens", headers=ADMIN, json=body
    )
    assert minted.status_code == 201, minted.text
    made = minted.json()
    assert made["token"].startswith("pit-")
    assert (made["locationId"], made["name"], made["scopes"], made["revoked"]) == (
        LOCATION,
        "web view",
        body["scopes"],
        False,
    )
    headers = api_headers(made["token"])
    location = await admin_client.get(f"/locations/{LOCATION}", headers=headers)
    assert location.json()["location"]["timezone"] == "Europe/Paris"
    calendars = await admin_client.get(
        "/calendars/", params={"locationId": LOCATION}, headers=headers
    )
    assert calendars.status_code == 200
    groups = await admin_client.get(
        "/calendars/groups", params={"locationId": LOCATION}, headers=headers
    )
    assert groups.status_code == 401, "a scope not asked for"

    listed = (await admin_client.get(f"/_admin/locations/{LOCATION}/tokens", headers=ADMIN)).json()
    mine = [t for t in listed["tokens"] if t["id"] == made["id"]]
    assert mine == [{k: v for k, v in made.items() if k != "token"}]
    assert all("token" not in t for t in listed["tokens"])

    revoked = await admin_client.delete(f"/_admin/tokens/{made['id']}", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json() == {"revoked": made["id"]}
    again = await admin_client.delete(f"/_admin/tokens/{made['id']}", headers=ADMIN)
    assert again.status_code == 404
    listed = (await admin_client.get(f"/_admin/locations/{LOCATION}/tokens", headers=ADMIN)).json()
    assert [t["revoked"] for t in listed["tokens"] if t["id"] == made["id"]] == [True]


async def test_all_scopes_by_default(admin_client: httpx.AsyncClient) -> None:
    assert (await load(admin_client, readme_fixture())).status_code == 201
    minted = await admin_client.post(f"/_admin/locations/{LOCATION}/tokens", headers=ADMIN, json={})
    assert minted.status_code == 201
    assert "calendars/events.write" in minted.json()["scopes"]
    assert "locations.readonly" in minted.json()["scopes"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/_admin/locations/noSuchLocation01/tokens", {}, 404),
        (f"/_admin/locations/{LOCATION}/tokens", {"scopes": ["calendars.everything"]}, 400),
        (f"/_admin/locations/{LOCATION}/tokens", {"scopes": []}, 400),
        (f"/_admin/locations/{LOCATION}/tokens", {"name": 7}, 400),
        (f"/_admin/locations/{LOCATION}/tokens", {"expires": 1}, 400),
        (f"/_admin/locations/{LOCATION}/tokens", {"expiresIn": 59}, 400),
        (f"/_admin/locations/{LOCATION}/tokens", {"expiresIn": 366 * 86_400 + 1}, 400),
        (f"/_admin/locations/{LOCATION}/tokens", {"expiresIn": "1h"}, 400),
    ],
)
async def test_bad_requests_said_clearly(
    admin_client: httpx.AsyncClient, path: str, body: dict[str, object], status: int
) -> None:
    assert (await load(admin_client, readme_fixture())).status_code == 201
    answer = await admin_client.post(path, headers=ADMIN, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["statusCode"] == status


async def test_a_token_minted_with_an_expiry_is_refused_then_deleted(
    admin_client: httpx.AsyncClient, admin_settings: Settings, store: Store
) -> None:
    """Refused from `expiresAt` on by the service's clock (a token the node remembers too),
    deleted by the workers' housekeeping; a fixture export keeps the expiry."""
    assert (await load(admin_client, readme_fixture())).status_code == 201
    clock = await admin_client.post(
        "/_admin/clock", json={"now": "2026-01-05T09:00:00Z", "freeze": True}, headers=ADMIN
    )
    now: int = clock.json()["now"]
    path = f"/_admin/locations/{LOCATION}/tokens"
    minted = await admin_client.post(path, headers=ADMIN, json={"expiresIn": 3600})
    assert minted.status_code == 201, minted.text
    made = minted.json()
    assert made["expiresAt"] == now + 3_600_000
    lasting = (await admin_client.post(path, headers=ADMIN, json={})).json()
    assert lasting["expiresAt"] is None
    headers = api_headers(made["token"])

    async def status() -> int:
        return (await admin_client.get(f"/locations/{LOCATION}", headers=headers)).status_code

    assert await status() == 200
    exported = (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()
    [doc] = [t for t in exported["locations"][0]["tokens"] if t["id"] == made["id"]]
    assert doc["expiresAt"] == made["expiresAt"]

    await admin_client.post("/_admin/clock", json={"advance": 3_599_999}, headers=ADMIN)
    assert await status() == 200
    await admin_client.post("/_admin/clock", json={"advance": 1}, headers=ADMIN)
    assert await status() == 401
    answer = await admin_client.get(f"/locations/{LOCATION}", headers=headers)
    assert answer.json()["message"] == "Invalid Private Integration token"

    def listed() -> set[str]:
        return {t["id"] for t in tokens.json()["tokens"]}

    tokens = await admin_client.get(path, headers=ADMIN)
    assert {made["id"], lasting["id"]} <= listed()
    housekeeping = Dispatcher(store, admin_settings, lambda: now + 3_600_000, event_json)
    await housekeeping.prune()
    tokens = await admin_client.get(path, headers=ADMIN)
    assert made["id"] not in listed() and lasting["id"] in listed()
    assert await status() == 401
    lasting_headers = api_headers(lasting["token"])
    assert (
        await admin_client.get(f"/locations/{LOCATION}", headers=lasting_headers)
    ).status_code == 200


async def test_a_fixture_token_with_an_expiry(admin_client: httpx.AsyncClient) -> None:
    clock = await admin_client.post(
        "/_admin/clock", json={"now": "2026-01-05T09:00:00Z", "freeze": True}, headers=ADMIN
    )
    now: int = clock.json()["now"]
    tokens = [
        {"id": "pastToken01", "token": "pit-expired-token-0001", "expiresAt": now},
        {"id": "soonToken01", "token": "pit-expiring-token-0001", "expiresAt": now + 1},
    ]
    place = {"id": "expiryLocation01", "name": "E", "timezone": "UTC", "tokens": tokens}
    assert (await load(admin_client, {"locations": [place]})).status_code == 201
    for token, status in (("pit-expired-token-0001", 401), ("pit-expiring-token-0001", 200)):
        answer = await admin_client.get("/locations/expiryLocation01", headers=api_headers(token))
        assert answer.status_code == status, token
