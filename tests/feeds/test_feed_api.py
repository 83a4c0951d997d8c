"""Feeds through the API: create, list, revoke (scopes, tenancy, a hash stored), the feed's
address (404 once revoked, 304 while unchanged, served from the cache while the data
version holds), its bounds (past blocks, events, bytes, feeds per location), its rate
limits, and its absence from every log. On each backend."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.core.isotime import format_ms, zone
from slotblock.core.model import CALENDARS_READ, EVENTS_READ, EVENTS_WRITE
from slotblock.service.container import Services, build_services
from slotblock.service.rate_limits import RateLimiter
from slotblock.store import Store
from slotblock.store.counters import InProcessCounters
from slotblock.store.tables import feed_tokens
from tests.api.calls import create, delete, edit
from tests.conftest import Clock, Tenant
from tests.feeds.calls import fetch, make_feed, strictly_valid

pytestmark = pytest.mark.anyio
DAY = 86_400_000


async def _client(
    settings: Settings, store: Store, services: Services
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, store)
    app.state.services = services
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield client


@pytest.fixture
def with_settings(
    settings: Settings, store: Store, clock: Clock
) -> Callable[..., AsyncIterator[httpx.AsyncClient]]:
    """A client of an app whose settings differ from the fixture's by `changes`."""

    def make(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        changed = settings.model_copy(update=changes)
        return _client(changed, store, build_services(store, changed, clock))

    return make


def at(tenant: Tenant, ms: int) -> str:
    return format_ms(ms, zone(tenant.timezone))


async def test_create_list_revoke_and_only_a_hash_is_stored(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    feed = await make_feed(client, tenant, userId=tenant.user_id, name="Ann's blocks")
    assert feed["token"].startswith("ical-") and len(feed["token"]) == 45
    assert feed["path"] == f"/calendars/ical/{feed['token']}.ics"
    assert feed["userId"] == tenant.user_id and feed["busyOnly"] is False
    async with store.read() as conn:
        rows = (await conn.execute(sa.select(feed_tokens))).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(feed["token"].encode()).hexdigest()]
    assert feed["token"] not in str([tuple(r) for r in rows])
    params = {"locationId": tenant.location_id}
    listed = (await client.get("/calendars/feeds", params=params, headers=tenant.headers())).json()
    assert listed == {"feeds": [{k: v for k, v in feed.items() if k not in ("token", "path")}]}
    assert (await fetch(client, feed["path"])).status_code == 200
    revoked = await client.delete(f"/calendars/feeds/{feed['id']}", headers=tenant.headers())
    assert revoked.json() == {"succeeded": True}
    gone = await fetch(client, feed["path"])
    assert gone.status_code == 404 and gone.json()["message"] == "Feed not found"
    again = await client.delete(f"/calendars/feeds/{feed['id']}", headers=tenant.headers())
    assert again.status_code == 404
    listed = (await client.get("/calendars/feeds", params=params, headers=tenant.headers())).json()
    assert listed["feeds"][0]["revoked"] is True


async def test_scopes_tenancy_and_bodies(
    client: httpx.AsyncClient, tenant: Tenant, other: Tenant, services: Services
) -> None:
    reader, _ = await services.tenants.create_token(tenant.location_id, [CALENDARS_READ])
    events, _ = await services.tenants.create_token(tenant.location_id, [EVENTS_READ, EVENTS_WRITE])
    body = {"locationId": tenant.location_id, "calendarId": tenant.calendar_id}
    params = {"locationId": tenant.location_id}

    def as_(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}

    assert (
        await client.post("/calendars/feeds", json=body, headers=as_(reader))
    ).status_code == 401
    assert (
        await client.get("/calendars/feeds", params=params, headers=as_(reader))
    ).status_code == 200
    assert (
        await client.get("/calendars/feeds", params=params, headers=as_(events))
    ).status_code == 401
    feed = await make_feed(client, tenant)
    assert (
        await client.delete(f"/calendars/feeds/{feed['id']}", headers=as_(reader))
    ).status_code == 401
    # another location: its id is 403, its targets and feeds 404
    other_body = {"locationId": other.location_id, "calendarId": other.calendar_id}
    assert (
        await client.post("/calendars/feeds", json=other_body, headers=tenant.headers())
    ).status_code == 403
    stranger = {**body, "calendarId": other.calendar_id}
    assert (
        await client.post("/calendars/feeds", json=stranger, headers=tenant.headers())
    ).status_code == 404
    assert (
        await client.delete(f"/calendars/feeds/{feed['id']}", headers=other.headers())
    ).status_code == 404
    for wrong in ({"locationId": tenant.location_id}, {**body, "userId": tenant.user_id}):
        answer = await client.post("/calendars/feeds", json=wrong, headers=tenant.headers())
        assert answer.status_code == 400
        assert answer.json()["message"] == [
            "Exactly one of calendarId, userId or groupId is required"
        ]
    unknown = await client.post("/calendars/feeds", json={**body, "x": 1}, headers=tenant.headers())
    assert unknown.json()["message"] == ["property x should not exist"]
    # the feed's address grants this one read and nothing else
    token = {"Authorization": f"Bearer {feed['token']}", "Version": "2021-07-28"}
    assert (await client.get("/calendars/feeds", params=params, headers=token)).status_code == 401


async def test_not_modified_while_unchanged_and_served_from_the_cache(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    series = await create(
        client, tenant, title="Weekly", startTime="2023-11-20T09:00:00+05:30",
        endTime="2023-11-20T10:00:00+05:30", rrule="FREQ=WEEKLY",
    )  # fmt: skip
    feed = await make_feed(client, tenant)
    reads = _count_block_reads(services)
    first = await fetch(client, feed["path"])
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    assert tag.startswith('"') and not tag.startswith("W/")
    assert first.headers["cache-control"] == "private, no-cache"
    assert reads() == 1
    again = await fetch(client, feed["path"])
    assert (again.content, again.headers["etag"], reads()) == (first.content, tag, 1)
    for headers in (
        {"If-None-Match": tag},
        {"If-None-Match": f'W/{tag}, "x"'},
        {"If-Modified-Since": modified},
    ):
        not_modified = await fetch(client, feed["path"], **headers)
        assert not_modified.status_code == 304 and not_modified.content == b""
        assert not_modified.headers["etag"] == tag
    assert reads() == 1  # an unchanged feed: the look-up and the version, nothing more
    assert (await fetch(client, feed["path"], **{"If-None-Match": '"other"'})).status_code == 200
    early = "Mon, 13 Nov 2023 00:00:00 GMT"
    assert (await fetch(client, feed["path"], **{"If-Modified-Since": early})).status_code == 200
    # an edit is an update of the same event: same UID, higher SEQUENCE; a new ETag
    services.clock.now_ms += 60_000  # type: ignore[attr-defined]
    assert (await edit(client, tenant, series["id"], title="Weekly (moved)")).status_code == 201
    changed = await fetch(client, feed["path"], **{"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert reads() == 2
    before, after = (strictly_valid(r.content).walk("VEVENT")[0] for r in (first, changed))
    assert before["UID"] == after["UID"]
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after["SUMMARY"] == "Weekly (moved)"
    assert after.decoded("LAST-MODIFIED") > before.decoded("LAST-MODIFIED")


def _count_block_reads(services: Services) -> Callable[[], int]:
    """How many times the feeds read their blocks (a spy on the service's reads)."""
    blocks = services.feeds.blocks
    real = blocks.blocks_of_targets
    calls = [0]

    async def counted(*args: Any) -> Any:
        calls[0] += 1
        return await real(*args)

    blocks.blocks_of_targets = counted  # type: ignore[method-assign,assignment]
    return lambda: calls[0]


async def test_bounds_past_blocks_events_and_feeds_per_location(
    with_settings: Callable[..., AsyncIterator[httpx.AsyncClient]], tenant: Tenant, clock: Clock
) -> None:
    now = clock.now_ms
    async for client in with_settings(feed_past_days=90, max_events=4, feed_max_per_location=2):
        for days, title in ((-100, "Old"), (-80, "Recent"), (30, "Coming")):
            start = now + days * DAY
            await create(
                client,
                tenant,
                title=title,
                startTime=at(tenant, start),
                endTime=at(tenant, start + 3_600_000),
            )
        feed = await make_feed(client, tenant)
        events = strictly_valid((await fetch(client, feed["path"])).content).walk("VEVENT")
        assert [str(e["SUMMARY"]) for e in events] == ["Recent", "Coming"]
        series = await create(
            client, tenant, title="S", startTime=at(tenant, now), endTime=at(tenant, now + 3_600_000),
            rrule="FREQ=DAILY;COUNT=5",
        )  # fmt: skip
        instance = f"{series['id']}_{now - now % 1000}_3600"
        assert (await edit(client, tenant, instance, title="S1")).status_code == 201
        assert (await fetch(client, feed["path"])).status_code == 200  # 4 events: the cap
        second = f"{series['id']}_{now - now % 1000 + DAY}_3600"
        assert (await edit(client, tenant, second, title="S2")).status_code == 201
        over = await fetch(client, feed["path"])
        assert over.status_code == 422
        assert over.json()["message"] == [
            "the feed holds more than 4 events; publish a narrower target"
        ]
        await make_feed(client, tenant)
        third = await client.post(
            "/calendars/feeds", json={"locationId": tenant.location_id, "groupId": tenant.group_id},
            headers=tenant.headers(),
        )  # fmt: skip
        assert third.status_code == 422
        await client.delete(f"/calendars/feeds/{feed['id']}", headers=tenant.headers())
        await make_feed(client, tenant)
    async for client in with_settings(max_response_bytes=2_000):
        big = await make_feed(client, tenant, groupId=tenant.group_id, name="x")
        too_large = await fetch(client, big["path"])
        assert too_large.status_code == 422 and "larger than 2000 bytes" in too_large.text


async def test_a_feed_whose_target_is_gone_is_404(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    block = await create(
        client, tenant, startTime="2023-11-20T09:00:00+05:30", endTime="2023-11-20T10:00:00+05:30"
    )
    feed = await make_feed(client, tenant)
    assert (await fetch(client, feed["path"])).status_code == 200
    assert (await delete(client, tenant, block["id"])).status_code == 201
    empty = strictly_valid((await fetch(client, feed["path"])).content)
    assert empty.walk("VEVENT") == [] and empty.walk("VTIMEZONE")
    response = await client.delete(f"/calendars/{tenant.calendar_id}", headers=tenant.headers())
    assert response.status_code == 200, response.text
    assert (await fetch(client, feed["path"])).status_code == 404
    assert (await fetch(client, "/calendars/ical/ical-nothing.ics")).status_code == 404


async def test_feed_tokens_are_rate_limited_like_any_token(
    settings: Settings, store: Store, services: Services, clock: Clock, tenant: Tenant
) -> None:
    limited = settings.model_copy(update={"rate_limit_burst": 3, "auth_failure_limit": 2})
    app = create_app(limited, store)
    app.state.services = services
    app.state.rate_limiter = RateLimiter(InProcessCounters(), limited, clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        feed = await make_feed(client, tenant)
        answers = [await fetch(client, feed["path"]) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["x-ratelimit-max"] == "3"
        assert answers[3].headers["retry-after"]
        guesses = [await fetch(client, f"/calendars/ical/ical-guess{i}.ics") for i in range(3)]
        assert [g.status_code for g in guesses] == [404, 404, 429]


async def test_feed_addresses_appear_in_no_log(
    settings: Settings, store: Store, services: Services, tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    admin = "sba-feeds-admin-token-0001"
    on = settings.model_copy(update={"admin_token": admin, "access_log": True})
    async for client in _client(on, store, services):
        feed = await make_feed(client, tenant)
        with caplog.at_level(logging.INFO):
            assert (await fetch(client, feed["path"])).status_code == 200
            assert (await fetch(client, feed["path"] + "x")).status_code == 404
        logged = await client.get("/_admin/requests", headers={"Authorization": f"Bearer {admin}"})
    assert logged.status_code == 200
    paths = [r["path"] for r in logged.json()["requests"]]
    assert paths[:2] == ["/calendars/ical/{feedToken}.ics"] * 2
    secret = feed["token"]
    assert secret not in logged.text
    ours = [r for r in caplog.records if not r.name.startswith("httpx")]  # not the test client
    lines = [r.getMessage() + str(r.__dict__) for r in ours]
    assert any("/calendars/ical/{feedToken}.ics" in line for line in lines)
    assert not [line for line in lines if secret in line]


async def test_hostile_feed_addresses_are_answered_in_the_official_shape(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    feed = await make_feed(client, tenant)
    hostile = ["x" * 300, "..%2F..%2Fetc%2Fpasswd", "a%00b", "%C3%A9" * 200, "9" * 30, "null"]
    hostile += [feed["token"] + "%00", feed["token"].upper(), " " + feed["token"]]
    for value in hostile:
        response = await fetch(client, f"/calendars/ical/{value}.ics")
        assert response.status_code == 404, (value, response.text)
        assert set(response.json()) == {"statusCode", "message", "error"}
    for method in ("POST", "PUT", "DELETE"):
        refused = await client.request(method, feed["path"])
        assert refused.status_code == 405
    assert (await fetch(client, feed["path"])).status_code == 200


async def test_the_fast_path_writes_the_plain_paths_document(
    with_settings: Callable[..., AsyncIterator[httpx.AsyncClient]], tenant: Tenant
) -> None:
    """Direct reads and the caches change the cost of a feed, never its bytes or headers."""
    bodies: list[tuple[bytes, str]] = []
    for switches in ({}, {"direct_reads": False}, {"feed_cache_bytes": 0, "block_cache_bytes": 0}):
        async for client in with_settings(**switches):
            if not bodies:
                await create(
                    client, tenant, title="Weekly", startTime="2023-11-20T09:00:00+05:30",
                    endTime="2023-11-20T10:00:00+05:30", rrule="FREQ=WEEKLY;COUNT=9",
                )  # fmt: skip
                feed = await make_feed(client, tenant, groupId=tenant.group_id)
            answers = [await fetch(client, feed["path"]) for _ in range(2)]
            assert answers[0].content == answers[1].content
            bodies.append((answers[0].content, answers[0].headers["etag"]))
    assert bodies[0] == bodies[1] == bodies[2]
    assert b"RRULE:FREQ=WEEKLY;COUNT=9" in bodies[0][0]


async def test_last_modified_holds_across_days_and_moves_with_any_write(
    client: httpx.AsyncClient, tenant: Tenant, clock: Clock
) -> None:
    await create(
        client,
        tenant,
        startTime=at(tenant, clock.now_ms),
        endTime=at(tenant, clock.now_ms + 3_600_000),
    )
    feed = await make_feed(client, tenant)
    first = await fetch(client, feed["path"])
    clock.now_ms += 2 * DAY  # a new cut-off day that leaves nothing out: the same document
    later = await fetch(
        client, feed["path"], **{"If-Modified-Since": first.headers["last-modified"]}
    )
    assert later.status_code == 304
    clock.now_ms += 60_000  # a write of the location outside this feed: the same bytes, but
    # If-Modified-Since no longer vouches for them (another node may have served others)
    user_block = {"assignedUserId": tenant.user_id, "startTime": at(tenant, clock.now_ms)}
    await create(client, tenant, **user_block, endTime=at(tenant, clock.now_ms + 60_000))
    after = await fetch(
        client, feed["path"], **{"If-Modified-Since": first.headers["last-modified"]}
    )
    assert after.status_code == 200 and after.headers["etag"] == first.headers["etag"]
    assert after.headers["last-modified"] != first.headers["last-modified"]
    assert (
        await fetch(client, feed["path"], **{"If-None-Match": first.headers["etag"]})
    ).status_code == 304
