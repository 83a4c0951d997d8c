"""A user's feed and the user's connected calendar: the synced busy time is left out of a
feed by default and is in it, instance for instance, with `includeConnected`; the blocks
written through the API are in both; and a synced edit of the source changes the answer
(a new ETag) of the feed that includes it only. On each backend, the source a real HTTP
server on loopback, both documents expanded by recurring-ical-events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from slotblock.config import Settings
from slotblock.service.container import Services
from tests.api.calls import create
from tests.conftest import Tenant
from tests.connections.calendar_server import CalendarHost, hosting
from tests.connections.test_connections_api import KEY, document, sync
from tests.feeds.calls import fetch, make_feed, strictly_valid
from tests.feeds.scenario import Instance, answered, expanded, local

pytestmark = pytest.mark.anyio
# After the tests' clock (2023-11-14), inside the scenario's window; the series crosses the
# spring DST change of its zone (2024-03-10).
ONE_OFF = """BEGIN:VEVENT
UID:dentist@example.com
DTSTART:20240110T150000Z
DTEND:20240110T160000Z
SUMMARY:{title}
END:VEVENT
"""
WEEKLY = """BEGIN:VEVENT
UID:weekly@example.com
DTSTART;TZID=America/Los_Angeles:20240226T090000
DTEND;TZID=America/Los_Angeles:20240226T093000
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Team sync
END:VEVENT
"""
FREE = """BEGIN:VEVENT
UID:free@example.com
DTSTART:20240111T120000Z
DTEND:20240111T130000Z
SUMMARY:Lunch (free)
TRANSP:TRANSPARENT
END:VEVENT
"""


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        pool_size=2,
        outbound_allow_networks="127.0.0.0/8",
        connection_key=KEY,
        connection_sync=False,
        webhook_dispatch=False,
    )


@pytest.fixture
def host() -> Iterator[CalendarHost]:
    with hosting(document(ONE_OFF.format(title="Dentist"), WEEKLY, FREE)) as served:
        yield served


def triples(instances: list[Instance]) -> Counter[tuple[int, int, str]]:
    """Instances without their keys (the source's UIDs are not slotblock's)."""
    return Counter((start, end, title) for start, end, title, _ in instances)


async def published(client: httpx.AsyncClient, path: str) -> list[Instance]:
    """The feed's instances, its document checked strictly first."""
    response = await fetch(client, path)
    assert response.status_code == 200, response.text
    return expanded(strictly_valid(response.content).to_ical())


async def connect(client: httpx.AsyncClient, t: Tenant, url: str) -> str:
    body = {"locationId": t.location_id, "userId": t.user_id, "url": url}
    made = await client.post("/calendars/connections", json=body, headers=t.headers())
    assert made.status_code == 201, made.text
    connection_id: str = made.json()["id"]
    state = await sync(client, t, connection_id)
    assert state["lastError"] is None and state["events"] == 2, state  # a one-off, a series
    return connection_id


async def write_blocks(client: httpx.AsyncClient, t: Tenant) -> None:
    """The user's own blocks, written through the API: a one-off and a series."""
    await create(
        client, t, assignedUserId=t.user_id, title="Gym",
        startTime=local(t, "2024-01-10", 18), endTime=local(t, "2024-01-10", 19),
    )  # fmt: skip
    await create(
        client, t, assignedUserId=t.user_id, title="Planning",
        startTime=local(t, "2024-02-27", 10), endTime=local(t, "2024-02-27", 11),
        rrule="FREQ=WEEKLY;COUNT=3",
    )  # fmt: skip


async def test_a_feed_has_the_synced_busy_time_only_when_it_includes_it(
    client: httpx.AsyncClient, tenant: Tenant, host: CalendarHost
) -> None:
    await write_blocks(client, tenant)
    await connect(client, tenant, host.url)
    plain = await make_feed(client, tenant, userId=tenant.user_id)
    withsync = await make_feed(client, tenant, userId=tenant.user_id, includeConnected=True)
    assert (plain["includeConnected"], withsync["includeConnected"]) == (False, True)
    without, with_ = [await published(client, feed["path"]) for feed in (plain, withsync)]
    # the source's own busy instances, by the same independent expansion
    synced = triples(expanded(document(ONE_OFF.format(title="Dentist"), WEEKLY)))
    assert sum(synced.values()) == 5 and len(without) == 4
    assert not synced & triples(without)
    assert triples(with_) == triples(without) + synced
    # slotblock's own answer for the user holds both kinds; the plain feed its API blocks
    everything = await answered(client, tenant, {"userId": tenant.user_id})
    assert with_ == everything
    assert without == [i for i in everything if i[2] in ("Gym", "Planning")]


async def test_a_synced_source_edit_changes_the_including_feed_only(
    client: httpx.AsyncClient, tenant: Tenant, host: CalendarHost, services: Services
) -> None:
    await write_blocks(client, tenant)
    connection_id = await connect(client, tenant, host.url)
    plain = await make_feed(client, tenant, userId=tenant.user_id)
    withsync = await make_feed(client, tenant, userId=tenant.user_id, includeConnected=True)
    first = {f["id"]: await fetch(client, f["path"]) for f in (plain, withsync)}
    tags = {key: response.headers["etag"] for key, response in first.items()}
    services.clock.now_ms += 60_000  # type: ignore[attr-defined]
    host.document = document(ONE_OFF.format(title="Dentist (moved)"), WEEKLY, FREE)
    state = await sync(client, tenant, connection_id)
    assert state["lastError"] is None, state
    changed = await fetch(client, withsync["path"], **{"If-None-Match": tags[withsync["id"]]})
    assert changed.status_code == 200 and changed.headers["etag"] != tags[withsync["id"]]
    strictly_valid(changed.content)
    titles = {i[2] for i in expanded(changed.content)}
    assert "Dentist (moved)" in titles and "Dentist" not in titles
    unchanged = await fetch(client, plain["path"], **{"If-None-Match": tags[plain["id"]]})
    assert unchanged.status_code == 304, unchanged.text
    assert unchanged.headers["etag"] == tags[plain["id"]]
