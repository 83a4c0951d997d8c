"""A group holds its team members' synced blocks, on both backends: a real connection synced
from an iCalendar file served over HTTP on loopback, its blocks found by `groupId` (and not
by `calendarId`), gone from the group's answers as soon as the user leaves the team (an
answer cached before included), and followed by the group's changes feed — created,
edited, deleted, leaving with the user — with nothing new after an unchanged resync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from slotblock.service.container import Services
from slotblock.store import Store
from tests.api.calls import create
from tests.changes.test_changes_feed import sync as feed
from tests.conftest import Tenant
from tests.connections.calendar_server import CalendarHost, hosting
from tests.connections.test_connections_api import (
    HOLIDAY,
    MEETING,
    blocked,
    changes_count,
    document,
    ms,
    settings,
    sync,
)
from tests.feeds.calls import fetch, make_feed, strictly_valid

pytestmark = pytest.mark.anyio
__all__ = ["settings"]
JANUARY = (ms(datetime(2027, 1, 1, tzinfo=UTC)), ms(datetime(2027, 2, 1, tzinfo=UTC)))


@pytest.fixture
def host() -> Iterator[CalendarHost]:
    with hosting(document(MEETING.format(title="Review"), HOLIDAY)) as served:
        yield served


async def connect(client: httpx.AsyncClient, t: Tenant, user_id: str, url: str) -> str:
    body = {"locationId": t.location_id, "userId": user_id, "url": url}
    made = await client.post("/calendars/connections", json=body, headers=t.headers())
    assert made.status_code == 201, made.text
    connection_id: str = made.json()["id"]
    return connection_id


@pytest.fixture
async def connected(
    client: httpx.AsyncClient, tenant: Tenant, host: CalendarHost
) -> AsyncIterator[str]:
    """The tenant's user (on the team of the tenant's calendar, in the tenant's group) with
    their calendar connected and synced once."""
    connection_id = await connect(client, tenant, tenant.user_id, host.url)
    state = await sync(client, tenant, connection_id)
    assert state["lastError"] is None and state["events"] == 2, state
    yield connection_id


async def set_team(client: httpx.AsyncClient, t: Tenant, *users: str) -> None:
    body = {"teamMembers": [{"userId": user} for user in users]}
    answer = await client.put(f"/calendars/{t.calendar_id}", json=body, headers=t.headers())
    assert answer.status_code == 200, answer.text


def ids(events: list[dict[str, Any]]) -> set[str]:
    return {str(event["id"]) for event in events}


def synced_ids(events: list[dict[str, Any]]) -> set[str]:
    return {str(event["id"]) for event in events if "source" in (event.get("createdBy") or {})}


async def test_a_group_holds_its_team_members_synced_blocks(
    client: httpx.AsyncClient,
    tenant: Tenant,
    connected: str,
    host: CalendarHost,
    services: Services,
) -> None:
    t = tenant
    mine = await blocked(client, t, userId=t.user_id)
    assert len(mine) == 4 and all(e["createdBy"] == {"source": "ical"} for e in mine)
    on_calendar = await create(client, t, calendarId=t.calendar_id, title="on the calendar",
                               startTime="2027-01-05T10:00:00+05:30",
                               endTime="2027-01-05T11:00:00+05:30")  # fmt: skip
    written = await create(client, t, assignedUserId=t.user_id, title="written by a client",
                           startTime="2027-01-07T10:00:00+05:30",
                           endTime="2027-01-07T11:00:00+05:30")  # fmt: skip
    # a user who is on no team of the group, with a connected calendar of their own
    stranger = await services.tenants.create_user(t.location_id, "Stranger", "s@example.com")
    theirs = await connect(client, t, stranger, host.url)
    await sync(client, t, theirs)
    strangers = await blocked(client, t, userId=stranger)
    assert len(strangers) == 4

    group = await blocked(client, t, groupId=t.group_id)
    assert ids(group) == ids(mine) | {on_calendar["id"]}  # neither the client's user block
    assert synced_ids(group) == ids(mine)  # nor the stranger's synced ones
    assert all(e["createdBy"] == {"source": "ical"} for e in group if e["id"] in ids(mine))
    assert written["id"] not in ids(group) and not ids(strangers) & ids(group)
    # targets AND: the group and the user, yes; the group and the calendar, no; the
    # calendar alone never finds a synced block
    assert ids(await blocked(client, t, groupId=t.group_id, userId=t.user_id)) == ids(mine)
    assert ids(await blocked(client, t, groupId=t.group_id, calendarId=t.calendar_id)) == {
        on_calendar["id"]
    }
    assert ids(await blocked(client, t, calendarId=t.calendar_id)) == {on_calendar["id"]}
    # the group's free/busy is the same busy time (each interval once, merged)
    params = {"locationId": t.location_id, "groupId": t.group_id,
              "startTime": str(JANUARY[0]), "endTime": str(JANUARY[1])}  # fmt: skip
    busy = await client.get("/calendars/free-busy", params=params, headers=t.headers())
    assert busy.status_code == 200, busy.text
    intervals = busy.json()["groups"][t.group_id]["busy"]
    assert len(intervals) == len(group)  # five blocks apart from each other


async def test_leaving_the_team_takes_the_synced_blocks_out_of_a_cached_answer(
    client: httpx.AsyncClient, tenant: Tenant, connected: str, services: Services
) -> None:
    t = tenant
    mine = ids(await blocked(client, t, userId=t.user_id))
    cache = services.answers.cache
    assert cache.max_bytes and services.blocks.reader is not None  # the fast path is on
    assert ids(await blocked(client, t, groupId=t.group_id)) == mine
    hits = cache.hits
    assert ids(await blocked(client, t, groupId=t.group_id)) == mine
    assert cache.hits == hits + 1  # the same window: answered from the cache

    await set_team(client, t)  # the user leaves the calendar's team
    assert ids(await blocked(client, t, groupId=t.group_id)) == set()
    assert cache.hits == hits + 2  # the cached answer was found, and was stale
    assert ids(await blocked(client, t, userId=t.user_id)) == mine  # still the user's

    await set_team(client, t, t.user_id)  # and comes back
    assert ids(await blocked(client, t, groupId=t.group_id)) == mine


async def test_the_groups_change_feed_follows_the_synced_blocks(
    client: httpx.AsyncClient, tenant: Tenant, host: CalendarHost, store: Store
) -> None:
    t = tenant
    empty, token = await feed(client, t, groupId=t.group_id)
    assert empty == []
    connection_id = await connect(client, t, t.user_id, host.url)
    await sync(client, t, connection_id)
    mine = await blocked(client, t, userId=t.user_id)
    series = next(str(e["masterEventId"]) for e in mine if e.get("masterEventId"))
    holiday = next(str(e["id"]) for e in mine if e["title"] == "Holiday")
    # the sync's creations are the group's changes, and its listing holds the blocks
    created, token = await feed(client, t, token, groupId=t.group_id)
    assert {i["id"] for i in created} == {series, holiday}
    assert all(i["createdBy"] == {"source": "ical"} for i in created)
    listed, _ = await feed(client, t, groupId=t.group_id)
    assert {i["id"] for i in listed} == {series, holiday}
    assert (await feed(client, t, calendarId=t.calendar_id))[0] == []

    # an unchanged resync: no change anywhere
    before = await changes_count(store)
    await sync(client, t, connection_id)
    assert host.statuses[-1] == 304 and await changes_count(store) == before
    assert (await feed(client, t, token, groupId=t.group_id))[0] == []

    # an edit in the source and a deleted event: the block changed, the other a tombstone
    host.document = document(MEETING.format(title="Review (moved room)"))
    await sync(client, t, connection_id)
    items, token = await feed(client, t, token, groupId=t.group_id)
    assert {i["id"]: bool(i.get("deleted")) for i in items} == {series: False, holiday: True}
    assert next(i for i in items if i["id"] == series)["title"] == "Review (moved room)"

    # the user leaves the team: the series leaves the group's feed (a tombstone), and only
    # the group's; back on the team, it enters again
    _, user_token = await feed(client, t, userId=t.user_id)
    await set_team(client, t)
    items, token = await feed(client, t, token, groupId=t.group_id)
    assert items == [{"id": series, "locationId": t.location_id, "deleted": True}]
    user_items, _ = await feed(client, t, user_token, userId=t.user_id)
    assert not any(i.get("deleted") for i in user_items)
    await set_team(client, t, t.user_id)
    items, token = await feed(client, t, token, groupId=t.group_id)
    assert [(i["id"], bool(i.get("deleted"))) for i in items] == [(series, False)]
    # an unchanged resync after all of it: still nothing
    await sync(client, t, connection_id)
    assert (await feed(client, t, token, groupId=t.group_id))[0] == []


async def test_a_groups_calendar_feed_has_them_when_it_includes_connected_calendars(
    client: httpx.AsyncClient, tenant: Tenant, connected: str
) -> None:
    t = tenant
    plain = await make_feed(client, t, groupId=t.group_id)
    withsync = await make_feed(client, t, groupId=t.group_id, includeConnected=True)
    titles = []
    for feed_ in (plain, withsync):
        answer = await fetch(client, feed_["path"])
        assert answer.status_code == 200, answer.text
        events = strictly_valid(answer.content).walk("VEVENT")
        titles.append(sorted(str(event["SUMMARY"]) for event in events))
    assert titles == [[], ["Holiday", "Review"]]  # the series is one VEVENT with its RRULE


async def test_syncs_racing_team_changes_leave_the_groups_feed_right(
    client: httpx.AsyncClient, tenant: Tenant, connected: str, host: CalendarHost
) -> None:
    """Each round, a sync that edits every synced block runs at once with the user taken
    off the team (or put back): the group's feed, followed, then holds exactly the blocks
    a fresh group query finds (PostgreSQL runs them concurrently; SQLite one after the
    other, in either order)."""
    t = tenant
    mirrored: dict[str, dict[str, Any]] = {}
    items, token = await feed(client, t, groupId=t.group_id)
    mirrored.update({item["id"]: item for item in items})
    for round_, team in enumerate(([], [t.user_id], [], [t.user_id])):
        host.document = document(MEETING.format(title=f"Review {round_}"), HOLIDAY)
        await asyncio.gather(sync(client, t, connected), set_team(client, t, *team))
        items, token = await feed(client, t, token, groupId=t.group_id)
        for item in items:
            if item.get("deleted"):
                mirrored.pop(item["id"], None)
            else:
                mirrored[item["id"]] = item
        listed = await blocked(client, t, groupId=t.group_id)
        masters = {str(e.get("masterEventId") or e["id"]) for e in listed}
        assert set(mirrored) == masters, round_
        assert len(masters) == (2 if team else 0)
        titles = {str(e["title"]) for e in listed} - {"Holiday"}
        assert {m["title"] for m in mirrored.values()} - {"Holiday"} == titles
