"""The admin API over HTTP, on SQLite and PostgreSQL: its gate, reset, fixtures (load, all
or nothing, export round trip) and its place in /openapi.json."""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.store import Store
from slotblock.toolkit.api.routes import TAG
from slotblock.toolkit.service.admin_auth import create_admin_token
from tests.conftest import Tenant, snapshot
from tests.spec import IMPLEMENTED
from tests.toolkit.conftest import (
    ADMIN,
    API,
    CALENDAR,
    LOCATION,
    READER_TOKEN,
    SERIES,
    USER,
    WEEK,
    load,
    readme_fixture,
)

pytestmark = pytest.mark.anyio


async def blocked(client: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    params = {"locationId": LOCATION, "startTime": str(WEEK[0]), "endTime": str(WEEK[1])}
    response = await client.get("/calendars/blocked-slots", params=params | filters, headers=API)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


async def test_off_without_an_admin_token(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for method, path in [
        ("POST", "/_admin/reset"),
        ("GET", "/_admin/fixtures"),
        ("PATCH", "/_admin/reset"),
        ("GET", "/_admin/nothing"),
        ("GET", "/_admin"),
    ]:
        response = await client.request(method, path, headers=tenant.headers())
        assert response.status_code == 404, (method, path)
        assert response.json()["statusCode"] == 404


def admin_paths(document: dict[str, Any]) -> list[str]:
    return [path for path in document["paths"] if path.startswith("/_admin")]


async def test_off_it_is_left_out_of_the_docs(settings: Settings, store: Store) -> None:
    """While the admin API is off, /openapi.json (and so /docs) lists none of its operations,
    nor the schemas only they use; once a token turns it on, they are back."""
    app = create_app(settings.model_copy(update={"token_cache_seconds": 0}), store)
    full = app.openapi()
    assert admin_paths(full) and "FaultBody" in full["components"]["schemas"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        off = (await client.get("/openapi.json")).json()
        assert admin_paths(off) == []
        assert set(off["paths"]) == {p for p in full["paths"] if not p.startswith("/_admin")}
        schemas = off["components"]["schemas"]
        assert "FaultBody" not in schemas and "ClockBody" not in schemas
        assert "GetCalendarEventsSuccessfulResponseDTO" in schemas
        assert "#/components/schemas/" in str(off["paths"])  # what is left resolves
        for ref in set(re.findall(r"#/components/schemas/(\w+)", str(off))):
            assert ref in schemas, ref
        await create_admin_token(store, 0)
        assert (await client.get("/openapi.json")).json() == full


async def test_created_admin_token_turns_it_on(settings: Settings, store: Store) -> None:
    token = await create_admin_token(store, 0)
    assert token.startswith("sba-")
    app = create_app(settings.model_copy(update={"token_cache_seconds": 0}), store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        auth = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/_admin/faults", headers=auth)).json() == {"faults": []}
        wrong = {"Authorization": "Bearer sba-not-the-token-000000000"}
        assert (await client.get("/_admin/faults", headers=wrong)).status_code == 401


async def test_never_with_a_location_token(admin_client: httpx.AsyncClient) -> None:
    assert (await load(admin_client, readme_fixture())).status_code == 201
    for headers in ({}, API, {"Authorization": "Bearer " + READER_TOKEN}):
        response = await admin_client.post("/_admin/reset", headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "statusCode": 401,
            "message": "Invalid admin token",
            "error": "Unauthorized",
        }
    assert len(await blocked(admin_client, calendarId=CALENDAR)) > 0


async def test_own_tag_apart_from_the_official_operations(
    admin_client: httpx.AsyncClient,
) -> None:
    document = (await admin_client.get("/openapi.json")).json()
    admin_ops = {
        op["operationId"]: op["tags"]
        for path, item in document["paths"].items()
        if path.startswith("/_admin/")
        for op in item.values()
    }
    assert set(admin_ops) == {
        "admin-reset",
        "admin-load-fixtures",
        "admin-export-fixtures",
        "admin-requests",
        "admin-add-fault",
        "admin-list-faults",
        "admin-delete-faults",
        "admin-delete-fault",
        "admin-add-webhook",
        "admin-list-webhooks",
        "admin-remove-webhook",
        "admin-dead-letters",
        "admin-webhook-deliveries",
        "admin-test-webhook",
        "admin-redeliver-webhook",
        "admin-get-clock",
        "admin-set-clock",
        "admin-real-clock",
        "admin-add-company",
        "admin-list-companies",
        "admin-add-app",
        "admin-list-apps",
        "admin-list-locations",
        "admin-create-token",
        "admin-list-tokens",
        "admin-revoke-token",
    }
    assert all(tags == [TAG] for tags in admin_ops.values())
    assert not set(admin_ops) & set(IMPLEMENTED)


async def test_fixture_loads_and_its_token_works(admin_client: httpx.AsyncClient) -> None:
    response = await load(admin_client, readme_fixture())
    assert response.status_code == 201, response.text
    assert response.json()["loaded"] == {
        "locations": [LOCATION],
        "users": 1,
        "groups": 1,
        "calendars": 1,
        "blocks": 2,
        "tokens": 2,
        "feeds": 0,
    }
    assert [e["title"] for e in await blocked(admin_client, calendarId=CALENDAR)] == ["Lunch"]
    focus = await blocked(admin_client, userId=USER)
    # Monday to Friday, the Wednesday excluded, the Tuesday moved to 14:00.
    assert [(e["startTime"], e["title"]) for e in focus] == [
        ("2026-01-05T09:00:00+01:00", "Focus"),
        ("2026-01-06T14:00:00+01:00", "Focus (moved)"),
        ("2026-01-08T09:00:00+01:00", "Focus"),
        ("2026-01-09T09:00:00+01:00", "Focus"),
    ]
    assert focus[1]["id"] == f"{SERIES}_1767686400000_3600"
    calendar = (await admin_client.get(f"/calendars/{CALENDAR}", headers=API)).json()["calendar"]
    assert calendar["slotDuration"] == 30 and calendar["groupId"] == "frontDesk01"
    reader = {"Authorization": f"Bearer {READER_TOKEN}", "Version": "2021-07-28"}
    assert (await admin_client.get(f"/calendars/{CALENDAR}", headers=reader)).status_code == 401


async def test_export_round_trips(admin_client: httpx.AsyncClient) -> None:
    """A recurring block with an exception and a moved instance: load(export(x)) = x."""
    assert (await load(admin_client, readme_fixture())).status_code == 201
    exported = (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()
    [location] = exported["locations"]
    series = next(b for b in location["blocks"] if b["id"] == SERIES)
    assert series["rrule"] == "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\nEXDATE:20260107T080000Z"
    assert series["instances"] == [
        {
            "originalStartTime": "2026-01-06T09:00:00+01:00",
            "startTime": "2026-01-06T14:00:00+01:00",
            "endTime": "2026-01-06T15:00:00+01:00",
            "title": "Focus (moved)",
        }
    ]
    assert "token" not in str(location["tokens"]).replace("tokenHash", "")
    before = await blocked(admin_client, userId=USER)
    assert (await admin_client.post("/_admin/reset", headers=ADMIN)).status_code == 200
    assert (await load(admin_client, exported)).status_code == 201
    again = await admin_client.get(
        "/_admin/fixtures", params={"locationId": LOCATION}, headers=ADMIN
    )
    assert again.json() == exported
    after = await blocked(admin_client, userId=USER)
    assert [(e["id"], e["startTime"], e["title"]) for e in after] == [
        (e["id"], e["startTime"], e["title"]) for e in before
    ]


async def test_bad_document_lists_every_problem_and_changes_nothing(
    admin_client: httpx.AsyncClient, store: Store, tenant: Tenant
) -> None:
    good = (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()
    before = await snapshot(store)
    bad: dict[str, Any] = {
        "locations": [
            {
                "id": "badLocation01",
                "timezone": "Europe/Paris",
                "users": [{"id": "u1"}, {"id": "u1"}],
                "calendars": [{"id": "c1", "groupId": "nope", "teamMembers": [{"userId": "x"}]}],
                "blocks": [
                    {"id": "b1", "calendarId": "c1", "startTime": "yesterday", "endTime": "2026-01-01T10:00:00Z"},
                    {"id": "b2", "startTime": "2026-01-01T10:00:00Z", "endTime": "2026-01-01T11:00:00Z"},
                    {"id": "b3", "calendarId": "c1", "startTime": "2026-01-01T10:00:00Z",
                     "endTime": "2026-01-01T11:00:00Z", "rrule": "RRULE:FREQ=SECONDLY"},
                    {"id": "b4", "calendarId": "c1", "startTime": "2026-01-01T10:00:00Z",
                     "endTime": "2026-01-01T11:00:00Z", "timezone": "Mars/Olympus"},
                ],
                "tokens": [{"token": "short", "scopes": ["calendars.fly"]}],
            },
            copy.deepcopy(good["locations"][0]),
        ]
    }  # fmt: skip
    response = await load(admin_client, bad)
    assert response.status_code == 400
    problems = response.json()["message"]
    expected_paths = [
        "$.locations[0].users[1].id",
        "$.locations[0].calendars[0].groupId",
        "$.locations[0].calendars[0].teamMembers[0].userId",
        "$.locations[0].blocks[0].startTime",
        "$.locations[0].blocks[1]:",
        "$.locations[0].blocks[2].rrule",
        "$.locations[0].tokens[0].token",
        "$.locations[0].tokens[0].scopes",
    ]
    for path in expected_paths:
        assert any(p.startswith(path) for p in problems), (path, problems)
    assert await snapshot(store) == before
    # Shape problems, all at once, with their paths.
    response = await load(admin_client, {"locations": [{"id": 1, "blocks": [{"x": 1}]}], "y": 2})
    assert response.status_code == 400
    shape = response.json()["message"]
    for path in (
        "$.locations[0].id",
        "$.locations[0].timezone",
        "$.locations[0].blocks[0].x",
        "$.y",
    ):
        assert any(p.startswith(path + ":") for p in shape), (path, shape)
    # Ids already stored: the existing location, then nothing else is written either.
    response = await load(admin_client, good)
    assert response.status_code == 400
    taken = response.json()["message"]
    tokens = good["locations"][0]["tokens"]
    assert taken[0] == f"$.locations[0].id: location {tenant.location_id} already exists"
    assert len(taken) == 1 + 2 * len(tokens)
    assert f"$.locations[0].tokens[0].id: token id {tokens[0]['id']} already exists" in taken
    assert await snapshot(store) == before
    response = await admin_client.post(
        "/_admin/fixtures",
        content=b"locations: [",
        headers={**ADMIN, "Content-Type": "application/yaml"},
    )
    assert response.status_code == 400
    assert response.json()["message"][0].startswith("$: not valid JSON or YAML")


async def test_reset_everything_or_one_location(
    admin_client: httpx.AsyncClient, store: Store, tenant: Tenant, other: Tenant
) -> None:
    assert (await load(admin_client, readme_fixture())).status_code == 201
    response = await admin_client.post(
        "/_admin/reset", json={"locationId": tenant.location_id}, headers=ADMIN
    )
    assert response.json() == {"reset": tenant.location_id}
    exported = (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()
    assert sorted(loc["id"] for loc in exported["locations"]) == sorted(
        [LOCATION, other.location_id]
    )
    # The reset location's token stops working at once on this node (no cached token).
    blocked_by = await admin_client.get(
        "/calendars/groups", params={"locationId": tenant.location_id}, headers=tenant.headers()
    )
    assert blocked_by.status_code == 401
    missing = await admin_client.post(
        "/_admin/reset", json={"locationId": "nowhere"}, headers=ADMIN
    )
    assert missing.status_code == 404
    assert (await admin_client.post("/_admin/reset", headers=ADMIN)).json() == {"reset": "all"}
    rows = await snapshot(store)
    # change counters and data versions outlive a reset: sync tokens from before it are gone
    # (410), and no old cached answer becomes current again; the server's own keys too
    kept = ("admin_tokens", "change_counters", "data_versions", "server_secrets")
    assert all(not found for table, found in rows.items() if table not in kept), rows
    assert (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json() == {"locations": []}
    assert (await admin_client.get("/calendars/groups", headers=API)).status_code == 401
