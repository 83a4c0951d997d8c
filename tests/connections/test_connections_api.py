"""Connected calendars end to end, on both backends: a user's calendar served over HTTP on
loopback, connected through `/calendars/connections`, synced, and its busy time seen as the
user's blocked slots."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from slotblock.config import Settings
from slotblock.service.container import Services
from slotblock.store import Store
from slotblock.store.tables import block_changes, calendar_connections
from tests.api.test_event_dto import check
from tests.conftest import Tenant
from tests.connections.calendar_server import CalendarHost, hosting

pytestmark = pytest.mark.anyio
KEY = "a connection key of the tests"
LA = ZoneInfo("America/Los_Angeles")
MEETING = """BEGIN:VEVENT
UID:weekly-meeting@example.com
DTSTART;TZID=Pacific Standard Time:20270104T090000
DTEND;TZID=Pacific Standard Time:20270104T100000
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:{title}
DESCRIPTION:Quarterly numbers
END:VEVENT
BEGIN:VEVENT
UID:weekly-meeting@example.com
RECURRENCE-ID;TZID=Pacific Standard Time:20270111T090000
DTSTART;TZID=Pacific Standard Time:20270111T090000
DTEND;TZID=Pacific Standard Time:20270111T100000
STATUS:CANCELLED
END:VEVENT
"""
HOLIDAY = """BEGIN:VEVENT
UID:holiday@example.com
DTSTART;VALUE=DATE:20270106
DTEND;VALUE=DATE:20270107
SUMMARY:Holiday
END:VEVENT
"""
FREE = """BEGIN:VEVENT
UID:free@example.com
DTSTART:20270105T120000Z
DTEND:20270105T130000Z
SUMMARY:Lunch (free)
TRANSP:TRANSPARENT
END:VEVENT
"""


def document(*events: str) -> bytes:
    body = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//tests//EN\n" + "".join(events)
    return (body + "END:VCALENDAR\n").replace("\n", "\r\n").encode()


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


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
    with hosting(document(MEETING.format(title="Budget review"), HOLIDAY, FREE)) as served:
        yield served


@pytest.fixture
async def connected(
    client: httpx.AsyncClient, tenant: Tenant, host: CalendarHost
) -> AsyncIterator[str]:
    body = {"locationId": tenant.location_id, "userId": tenant.user_id, "url": host.url}
    made = await client.post("/calendars/connections", json=body, headers=tenant.headers())
    assert made.status_code == 201, made.text
    yield made.json()["id"]


async def sync(client: httpx.AsyncClient, tenant: Tenant, connection_id: str) -> dict[str, object]:
    answer = await client.post(
        f"/calendars/connections/{connection_id}/sync", headers=tenant.headers()
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    return found


async def blocked(
    client: httpx.AsyncClient, tenant: Tenant, **target: str
) -> list[dict[str, object]]:
    params = {
        "locationId": tenant.location_id,
        "startTime": str(ms(datetime(2027, 1, 1, tzinfo=UTC))),
        "endTime": str(ms(datetime(2027, 2, 1, tzinfo=UTC))),
        **target,
    }
    answer = await client.get("/calendars/blocked-slots", params=params, headers=tenant.headers())
    assert answer.status_code == 200, answer.text
    events: list[dict[str, object]] = answer.json()["events"]
    return events


async def changes_count(store: Store) -> int:
    async with store.read() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(block_changes))).scalar_one()
        )


async def test_the_busy_events_become_the_users_blocks_with_their_source(
    client: httpx.AsyncClient, tenant: Tenant, connected: str, host: CalendarHost, store: Store
) -> None:
    state = await sync(client, tenant, connected)
    assert state["lastError"] is None and state["events"] == 2, state  # a series, a day
    events = await blocked(client, tenant, userId=tenant.user_id)
    kolkata = ZoneInfo(tenant.timezone)
    starts = [datetime.fromisoformat(str(e["startTime"])) for e in events]
    assert starts == [
        datetime(2027, 1, 4, 9, tzinfo=LA),
        datetime(2027, 1, 6, tzinfo=kolkata),  # all-day: the location's day
        datetime(2027, 1, 18, 9, tzinfo=LA),  # the 11th was cancelled; the free lunch is not here
        datetime(2027, 1, 25, 9, tzinfo=LA),
    ]
    assert all(e["createdBy"] == {"source": "ical"} for e in events)
    for event in events:  # exact CalendarEventDTOs, createdBy included
        check(event)
    assert all(e["calendarId"] == "" and e["assignedUserId"] == tenant.user_id for e in events)
    assert {e["title"] for e in events} == {"Budget review", "Holiday"}
    assert await blocked(client, tenant, calendarId=tenant.calendar_id) == []
    # free/busy subtracts them
    busy = await client.get(
        "/calendars/free-busy",
        params={
            "locationId": tenant.location_id,
            "userId": tenant.user_id,
            "startTime": str(ms(datetime(2027, 1, 4, tzinfo=UTC))),
            "endTime": str(ms(datetime(2027, 1, 5, tzinfo=UTC))),
        },
        headers=tenant.headers(),
    )
    assert busy.status_code == 200, busy.text
    assert (
        str(ms(datetime(2027, 1, 4, 9, tzinfo=LA))) in busy.text
        or "17:00:00" in busy.text
        or busy.json()
    )

    # an unchanged calendar: one conditional GET answered 304, nothing written
    before = await changes_count(store)
    ids = [e["id"] for e in events]
    again = await sync(client, tenant, connected)
    assert host.statuses[-1] == 304 and host.headers[-1]["if-none-match"] == host.etag
    assert again["lastError"] is None and await changes_count(store) == before
    # the same document again without the validators (a host without ETag): no change either
    async with store.begin() as conn:
        await conn.execute(sa.update(calendar_connections).values(etag=None))
    await sync(client, tenant, connected)
    assert host.statuses[-1] == 200 and await changes_count(store) == before

    # an edit in the source: the same ids, the new title, one change (the series)
    host.document = document(MEETING.format(title="Budget review (moved room)"), HOLIDAY, FREE)
    await sync(client, tenant, connected)
    edited = await blocked(client, tenant, userId=tenant.user_id)
    assert [e["id"] for e in edited] == ids
    assert edited[0]["title"] == "Budget review (moved room)"
    assert await changes_count(store) == before + 1

    # a deleted event is gone at the next sync
    host.document = document(MEETING.format(title="Budget review (moved room)"), FREE)
    await sync(client, tenant, connected)
    assert len(await blocked(client, tenant, userId=tenant.user_id)) == 3


async def test_synced_blocks_are_read_only(
    client: httpx.AsyncClient, tenant: Tenant, connected: str
) -> None:
    await sync(client, tenant, connected)
    event = (await blocked(client, tenant, userId=tenant.user_id))[1]
    read = await client.get(
        f"/calendars/events/block-slots/{event['id']}", headers=tenant.headers()
    )
    assert read.status_code == 200 and read.json()["createdBy"] == {"source": "ical"}
    edit = await client.put(
        f"/calendars/events/block-slots/{event['id']}",
        json={"locationId": tenant.location_id, "title": "mine now"},
        headers=tenant.headers(),
    )
    assert edit.status_code == 422, edit.text
    assert "change it in its source calendar" in edit.text
    gone = await client.delete(f"/calendars/events/{event['id']}", headers=tenant.headers())
    assert gone.status_code == 422 and "source calendar" in gone.text


async def test_the_password_is_sealed_and_never_returned(
    client: httpx.AsyncClient, tenant: Tenant, host: CalendarHost, store: Store
) -> None:
    body = {
        "locationId": tenant.location_id,
        "userId": tenant.user_id,
        "url": host.url,
        "type": "ical",
        "username": "ann",
        "password": "hunter2-secret",
    }
    made = await client.post("/calendars/connections", json=body, headers=tenant.headers())
    assert made.status_code == 201, made.text
    listed = await client.get(
        "/calendars/connections",
        params={"locationId": tenant.location_id},
        headers=tenant.headers(),
    )
    assert "hunter2" not in made.text + listed.text and made.json()["hasPassword"] is True
    async with store.read() as conn:
        sealed = (await conn.execute(sa.select(calendar_connections.c.secret))).scalar_one()
    assert "hunter2" not in sealed
    await sync(client, tenant, made.json()["id"])
    assert host.headers[-1]["authorization"] == "Basic YW5uOmh1bnRlcjItc2VjcmV0"


async def test_the_address_is_never_shown(
    client: httpx.AsyncClient,
    tenant: Tenant,
    host: CalendarHost,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A secret address (as Google's) is a credential: the create answer, the read, the
    list, a failed sync's error and the logs show `http://host:port/…`; the database holds
    it sealed; the sync reaches it."""
    secret = "/calendar/ical/ann%40example.com/private-0123abcd/basic.ics"
    address = host.url.removesuffix("/calendar.ics") + secret
    shown = host.url.removesuffix("calendar.ics") + "…"
    body = {"locationId": tenant.location_id, "userId": tenant.user_id, "url": address}
    made = await client.post("/calendars/connections", json=body, headers=tenant.headers())
    assert made.status_code == 201 and made.json()["url"] == shown, made.text
    connection = made.json()["id"]
    state = await sync(client, tenant, connection)
    assert state["lastError"] is None and state["events"] == 2 and state["url"] == shown
    assert host.paths == [secret]
    host.status = 404
    caplog.set_level(logging.DEBUG)
    failed = await sync(client, tenant, connection)
    assert failed["lastError"] == "FetchFailed: HTTP 404" and failed["failures"] == 1
    read = await client.get(f"/calendars/connections/{connection}", headers=tenant.headers())
    listed = await client.get(
        "/calendars/connections",
        params={"locationId": tenant.location_id},
        headers=tenant.headers(),
    )
    assert read.json()["url"] == listed.json()["connections"][0]["url"] == shown
    async with store.read() as conn:
        row = (await conn.execute(sa.select(calendar_connections))).one()
    assert row.address.startswith("gAAAAA")  # Fernet: sealed with SLOTBLOCK_CONNECTION_KEY
    everything = made.text + str(state) + str(failed) + read.text + listed.text + caplog.text
    for spelling in ("private-0123abcd", "basic.ics"):
        assert spelling not in everything + str(tuple(row))
    assert f"connection {connection} failed to sync" in caplog.text
    again = await client.post(
        "/calendars/connections", json=body | {"url": shown}, headers=tenant.headers()
    )
    assert again.status_code == 400 and "redacted address" in again.text


async def test_urls_are_checked_by_the_outbound_guard(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    async def create(url: str) -> httpx.Response:
        body = {"locationId": tenant.location_id, "userId": tenant.user_id, "url": url}
        return await client.post("/calendars/connections", json=body, headers=tenant.headers())

    assert (await create("ftp://calendar.example.com/x.ics")).status_code == 400
    refused = await create("http://169.254.169.254/latest/")
    assert refused.status_code == 422 and "link-local" in refused.text
    unknown = {
        "locationId": tenant.location_id,
        "userId": "nobody",
        "url": "https://example.com/a.ics",
    }
    missing = await client.post("/calendars/connections", json=unknown, headers=tenant.headers())
    assert missing.status_code == 404


async def test_a_redirect_to_a_refused_address_fails_the_sync(
    client: httpx.AsyncClient, tenant: Tenant, connected: str, host: CalendarHost
) -> None:
    host.redirect_to = "http://169.254.169.254/latest/meta-data/"
    state = await sync(client, tenant, connected)
    assert "DestinationRefused" in str(state["lastError"]) and state["failures"] == 1
    assert state["nextAttempt"] > state["dateAdded"]  # type: ignore[operator]


async def test_deleting_the_connection_deletes_its_blocks(
    client: httpx.AsyncClient, tenant: Tenant, connected: str
) -> None:
    await sync(client, tenant, connected)
    assert len(await blocked(client, tenant, userId=tenant.user_id)) == 4
    gone = await client.delete(f"/calendars/connections/{connected}", headers=tenant.headers())
    assert gone.status_code == 200
    assert await blocked(client, tenant, userId=tenant.user_id) == []
    read = await client.get(f"/calendars/connections/{connected}", headers=tenant.headers())
    assert read.status_code == 404


async def test_fixtures_load_connections_and_export_them_without_secrets(
    client: httpx.AsyncClient, tenant: Tenant, host: CalendarHost, services: Services
) -> None:
    from slotblock.toolkit.service.fixtures import FixtureService, RuleLimits

    settings = Settings(outbound_allow_networks="127.0.0.0/8", connection_key=KEY)
    fixtures = FixtureService(services.store, RuleLimits.of(settings), services.clock)
    document_ = {
        "locations": [
            {
                "id": "Fixture1",
                "timezone": "Europe/Paris",
                "users": [{"id": "Ann", "name": "Ann"}],
                "connections": [
                    {"id": "AnnCal", "userId": "Ann", "url": host.url, "type": "ical",
                     "username": "ann", "password": "s3cret-pass"},
                    {"userId": "Bob", "url": "ftp://x"},
                ],
            }
        ]
    }  # fmt: skip
    with pytest.raises(Exception, match=r"connections\[1\]") as refused:
        await fixtures.load(document_)
    assert "no user Bob" in str(refused.value) and "http://" in str(refused.value)
    location = document_["locations"][0]
    location["connections"] = location["connections"][:1]
    loaded = await fixtures.load(document_)
    assert loaded["connections"] == 1
    synced = await services.connections.sync_in("Fixture1", "AnnCal")
    assert synced.last_error is None and synced.event_count == 2
    assert host.headers[-1]["authorization"].startswith("Basic ")
    exported = await fixtures.export("Fixture1")
    [shown] = exported["locations"]
    redacted = host.url.removesuffix("calendar.ics") + "…"
    assert shown["connections"] == [
        {"id": "AnnCal", "userId": "Ann", "url": redacted, "type": "ical",
         "source": "ical", "busyOnly": False},
    ]  # fmt: skip
    assert shown["blocks"] == []  # synced blocks come back with the next sync
    assert "s3cret" not in str(exported) and "calendar.ics" not in str(exported)
    # loading the export back asks for the address again, as for the password
    exported["locations"][0]["id"] = "Fixture2"
    with pytest.raises(Exception, match="redacted address") as again:
        await fixtures.load(exported)
    assert "connections[0]" in str(again.value)
