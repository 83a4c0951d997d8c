"""Every block text field (the model's TEXT_FIELDS, so a new one is covered without editing
this test) survives create → read → export → reset → load → read, on a one-off block and on
an edited instance of a series, on SQLite and PostgreSQL: a place that spells the fields out
instead of deriving them fails here."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic.alias_generators import to_camel

from slotblock.core.model import TEXT_FIELDS
from tests.conftest import Tenant
from tests.toolkit.conftest import ADMIN, load

pytestmark = pytest.mark.anyio
START_MS = 1_767_571_200_000  # 2026-01-05T00:00Z
DAY_MS = 86_400_000


def texts(what: str) -> dict[str, str]:
    """A distinct value for every text field, by wire name."""
    return {to_camel(name): f"{what} {name} ✓ {i}" for i, name in enumerate(TEXT_FIELDS)}


def the_texts(event: dict[str, Any]) -> dict[str, str]:
    return {to_camel(name): event[to_camel(name)] for name in TEXT_FIELDS}


async def create(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> str:
    response = await client.post(
        "/calendars/events/block-slots",
        json={"locationId": tenant.location_id, "calendarId": tenant.calendar_id, **body},
        headers=tenant.headers(),
    )
    assert response.status_code == 201, response.text
    event_id: str = response.json()["id"]
    return event_id


async def read_all(
    client: httpx.AsyncClient, tenant: Tenant, ids: list[str]
) -> dict[str, dict[str, str]]:
    """The texts of each event, by GET of the one event and in the blocked-slots answer
    (which must agree)."""
    params = {
        "locationId": tenant.location_id,
        "calendarId": tenant.calendar_id,
        "startTime": str(START_MS),
        "endTime": str(START_MS + 7 * DAY_MS),
    }
    response = await client.get("/calendars/blocked-slots", params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    listed = {e["id"]: the_texts(e) for e in response.json()["events"]}
    found = {}
    for event_id in ids:
        one = await client.get(
            f"/calendars/events/block-slots/{event_id}", headers=tenant.headers()
        )
        assert one.status_code == 200, one.text
        found[event_id] = the_texts(one.json())
        assert listed[event_id] == found[event_id], event_id
    return found


async def test_every_text_field_survives_the_round_trip(
    admin_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    client = admin_client
    one_off = await create(
        client,
        tenant,
        {
            "startTime": "2026-01-05T09:00:00Z",
            "endTime": "2026-01-05T10:00:00Z",
            **texts("one-off"),
        },
    )
    series = await create(
        client,
        tenant,
        {
            "startTime": "2026-01-06T09:00:00Z",
            "endTime": "2026-01-06T10:00:00Z",
            "rrule": "RRULE:FREQ=DAILY;COUNT=3",
            **texts("series"),
        },
    )
    second = f"{series}_1767776400000_3600"  # 2026-01-07T09:00Z
    edited = await client.put(
        f"/calendars/events/block-slots/{second}",
        json={"locationId": tenant.location_id, **texts("instance")},
        headers=tenant.headers(),
    )
    assert edited.status_code == 201, edited.text
    first = f"{series}_1767690000000_3600"  # 2026-01-06T09:00Z, unedited
    ids = [one_off, first, second]
    expected = {one_off: texts("one-off"), first: texts("series"), second: texts("instance")}
    assert await read_all(client, tenant, ids) == expected

    location = {"locationId": tenant.location_id}
    exported = await client.get("/_admin/fixtures", params=location, headers=ADMIN)
    assert exported.status_code == 200, exported.text
    document = exported.json()
    [block] = [b for b in document["locations"][0]["blocks"] if b["id"] == one_off]
    assert the_texts(block) == texts("one-off")
    reset = await client.post("/_admin/reset", json=location, headers=ADMIN)
    assert reset.status_code == 200, reset.text
    gone = await client.get("/_admin/fixtures", params=location, headers=ADMIN)
    assert gone.status_code == 404, gone.text
    loaded = await load(client, document)
    assert loaded.status_code == 201, loaded.text
    assert await read_all(client, tenant, ids) == expected
    again = await client.get("/_admin/fixtures", params=location, headers=ADMIN)
    assert again.json() == document
