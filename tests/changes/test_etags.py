"""ETags on block answers, If-Match on edit and delete (412, nothing changed), If-None-Match
on the one-block read (304)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from slotblock.store import Store
from tests.api.calls import create
from tests.conftest import Tenant, snapshot

pytestmark = pytest.mark.anyio
DAILY = "RRULE:FREQ=DAILY;COUNT=5"
START, END = "2023-04-03T09:00:00+05:30", "2023-04-03T10:00:00+05:30"


async def put(
    client: httpx.AsyncClient, t: Tenant, event_id: str, tag: str | None, **body: Any
) -> httpx.Response:
    headers = {**t.headers(), **({"If-Match": tag} if tag else {})}
    return await client.put(
        f"/calendars/events/block-slots/{event_id}",
        json={"locationId": t.location_id, **body},
        headers=headers,
    )


async def remove(client: httpx.AsyncClient, t: Tenant, event_id: str, tag: str) -> httpx.Response:
    headers = {**t.headers(), "If-Match": tag}
    return await client.request("DELETE", f"/calendars/events/{event_id}", headers=headers)


async def read(
    client: httpx.AsyncClient, t: Tenant, event_id: str, **headers: str
) -> httpx.Response:
    return await client.get(
        f"/calendars/events/block-slots/{event_id}", headers={**t.headers(), **headers}
    )


async def test_every_block_answer_carries_the_stored_version(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/calendars/events/block-slots",
        json={"locationId": tenant.location_id, "calendarId": tenant.calendar_id,
              "startTime": START, "endTime": END},
        headers=tenant.headers(),
    )  # fmt: skip
    assert created.headers["etag"] == '"1"'
    block_id = created.json()["id"]
    assert (await read(client, tenant, block_id)).headers["etag"] == '"1"'
    edited = await put(client, tenant, block_id, '"1"', title="moved")
    assert edited.status_code == 201 and edited.headers["etag"] == '"2"'
    assert (await read(client, tenant, block_id)).headers["etag"] == '"2"'


async def test_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    block = await create(client, tenant, startTime=START, endTime=END)
    assert (await put(client, tenant, block["id"], None, title="second writer")).status_code == 201
    before = await snapshot(store)
    for stale in ('"1"', 'W/"2"', '"1", "7"'):
        refused = await put(client, tenant, block["id"], stale, title="lost update")
        assert refused.status_code == 412
        assert refused.json() == {
            "statusCode": 412,
            "message": "the block was changed since the If-Match version; read it again",
            "error": "Precondition Failed",
        }
        assert (await remove(client, tenant, block["id"], stale)).status_code == 412
    assert await snapshot(store) == before  # no block, change, outbox or key row moved
    assert (await put(client, tenant, block["id"], '"1", "2"', title="ok")).status_code == 201
    assert (await remove(client, tenant, block["id"], "*")).status_code == 201


async def test_if_none_match_is_304_until_the_block_changes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    block = await create(client, tenant, startTime=START, endTime=END)
    unchanged = await read(client, tenant, block["id"], **{"If-None-Match": '"1"'})
    assert unchanged.status_code == 304
    assert unchanged.content == b"" and unchanged.headers["etag"] == '"1"'
    assert (
        await read(client, tenant, block["id"], **{"If-None-Match": 'W/"1"'})
    ).status_code == 304
    await put(client, tenant, block["id"], None, title="changed")
    changed = await read(client, tenant, block["id"], **{"If-None-Match": '"1"'})
    assert changed.status_code == 200 and changed.json()["title"] == "changed"


async def test_an_instance_tag_moves_with_its_series_and_its_own_override(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    series = await create(client, tenant, startTime=START, endTime=END, rrule=DAILY)
    events = (await client.get(
        "/calendars/blocked-slots",
        params={"locationId": tenant.location_id, "calendarId": tenant.calendar_id,
                "startTime": "1680373800000", "endTime": "1680978599999"},
        headers=tenant.headers(),
    )).json()["events"]  # fmt: skip
    second, third = events[1]["id"], events[2]["id"]
    tag = (await read(client, tenant, second)).headers["etag"]
    moved = await put(client, tenant, second, tag, title="own override")
    assert moved.status_code == 201 and moved.headers["etag"] != tag
    assert (await read(client, tenant, second)).headers["etag"] == moved.headers["etag"]
    # its own override changed: the tag the client held is stale
    assert (await put(client, tenant, second, tag, title="again")).status_code == 412
    # the series changed: every instance's tag moves
    before = (await read(client, tenant, third)).headers["etag"]
    await put(client, tenant, series["id"], None, title="series renamed")
    after = (await read(client, tenant, third)).headers["etag"]
    assert after != before
    assert (await remove(client, tenant, third, before)).status_code == 412
    assert (await remove(client, tenant, third, after)).status_code == 201
    assert (await read(client, tenant, third)).status_code == 404
