"""The controllable clock (`/_admin/clock`), on SQLite and PostgreSQL: set, frozen, advanced
and back to real time; what reads it (free slots, Idempotency-Key and sync-token expiry,
dateAdded); fixture documents; reset; two app instances on one database; and none of it
read, or followed, while the admin API is off."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from slotblock.api.app import create_app
from slotblock.api.schemas import event_json
from slotblock.config import Settings
from slotblock.core.clock import ClockSetting
from slotblock.core.isotime import format_ms, parse_iso, zone
from slotblock.service.clock import StoredClock
from slotblock.service.workers.webhook_dispatcher import Dispatcher
from slotblock.store import Store, open_store
from slotblock.store.window_query import WindowReader
from tests.changes.receiver import receiving
from tests.toolkit.conftest import ADMIN, ADMIN_TOKEN, load

pytestmark = pytest.mark.anyio

PARIS = "Europe/Paris"
TOKEN = "pit-clock-test-token-0001"
API = {"Authorization": f"Bearer {TOKEN}", "Version": "2021-07-28"}
LOCATION, CALENDAR = "clockLocation01", "clockCalendar01"
# A week that is over: free slots there are only free once the clock is set before it.
MONDAY = parse_iso("2026-01-05T00:00:00+01:00")
SATURDAY = parse_iso("2026-01-10T00:00:00+01:00")
DOCUMENT: dict[str, Any] = {
    "locations": [
        {
            "id": LOCATION,
            "timezone": PARIS,
            "calendars": [
                {
                    "id": CALENDAR,
                    "name": "Room",
                    "openHours": [
                        {
                            "daysOfTheWeek": [1, 2, 3, 4, 5],
                            "hours": [
                                {"openHour": 9, "openMinute": 0, "closeHour": 12, "closeMinute": 0}
                            ],
                        }
                    ],
                    "slotDuration": 60,
                    "slotInterval": 60,
                }
            ],
            "blocks": [
                {
                    "id": "lunch01",
                    "calendarId": CALENDAR,
                    "startTime": "2026-01-05T10:00:00+01:00",
                    "endTime": "2026-01-05T11:00:00+01:00",
                }
            ],
            "tokens": [{"id": "clockToken01", "token": TOKEN}],
        }
    ]
}


async def set_clock(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/_admin/clock", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def get_clock(client: httpx.AsyncClient) -> dict[str, Any]:
    answer: dict[str, Any] = (await client.get("/_admin/clock", headers=ADMIN)).json()
    return answer


async def monday_slots(client: httpx.AsyncClient) -> list[str]:
    response = await client.get(
        f"/calendars/{CALENDAR}/free-slots",
        params={"startDate": str(MONDAY), "endDate": str(SATURDAY)},
        headers=API,
    )
    assert response.status_code == 200, response.text
    slots: list[str] = response.json().get("2026-01-05", {}).get("slots", [])
    return slots


@pytest.fixture
async def loaded(admin_client: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await load(admin_client, DOCUMENT)).status_code == 201
    return admin_client


async def test_set_freeze_advance_and_back_to_real_time(admin_client: httpx.AsyncClient) -> None:
    real = await get_clock(admin_client)
    assert real["controlled"] is False and real["frozen"] is False
    assert abs(real["now"] - time.time() * 1000) < 60_000
    at = parse_iso("2026-01-05T09:30:00+01:00")
    frozen = await set_clock(admin_client, now="2026-01-05T09:30:00+01:00", freeze=True)
    assert frozen == {
        "now": at,
        "nowIso": "2026-01-05T08:30:00.000Z",
        "controlled": True,
        "frozen": True,
        "offsetMs": frozen["offsetMs"],
    }
    assert abs(frozen["offsetMs"] - (at - time.time() * 1000)) < 60_000
    again = await get_clock(admin_client)
    assert {**again, "offsetMs": 0} == {**frozen, "offsetMs": 0}
    assert (await set_clock(admin_client, advance="2h"))["now"] == at + 7_200_000
    assert (await set_clock(admin_client, advance=1_000))["now"] == at + 7_201_000
    assert (await set_clock(admin_client, advance="PT1M"))["now"] == at + 7_261_000
    ticking = await set_clock(admin_client, freeze=False)
    assert ticking["frozen"] is False and ticking["now"] >= at + 7_261_000
    later = await get_clock(admin_client)
    assert at + 7_261_000 <= later["now"] < at + 7_261_000 + 60_000
    epoch = await set_clock(admin_client, now=at, freeze=True)
    assert epoch["now"] == at
    back = await admin_client.delete("/_admin/clock", headers=ADMIN)
    assert back.status_code == 200 and back.json()["controlled"] is False
    assert (await get_clock(admin_client))["controlled"] is False


async def test_bad_changes_are_400_and_change_nothing(admin_client: httpx.AsyncClient) -> None:
    await set_clock(admin_client, now=MONDAY, freeze=True)
    for body, message in (
        ({}, "body must give now, advance or freeze"),
        ({"now": MONDAY, "advance": 1}, "body must not give both now and advance"),
        ({"now": "yesterday"}, "now must be epoch milliseconds or an ISO 8601 date-time"),
        ({"now": "2026-01-05T09:00:00"}, "now must be epoch milliseconds or an ISO 8601"),
        ({"now": -1}, "now epoch milliseconds must be between 1970 and 9999"),
        ({"advance": "soon"}, "advance must be milliseconds or a duration"),
        ({"advance": -5}, "advance must be between 0 and 100 years"),
        ({"freeze": "yes"}, "freeze must be a boolean value"),
        ({"rewind": 1}, "property rewind should not exist"),
    ):
        response = await admin_client.post("/_admin/clock", json=body, headers=ADMIN)
        assert response.status_code == 400, body
        assert response.json()["message"][0].startswith(message), response.json()
    assert (await get_clock(admin_client))["now"] == MONDAY
    assert (await admin_client.get("/_admin/clock")).status_code == 401


async def test_free_slots_of_a_past_week_once_the_clock_is_set(
    loaded: httpx.AsyncClient,
) -> None:
    assert await monday_slots(loaded) == []  # real time: that Monday is over
    await set_clock(loaded, now="2026-01-04T12:00:00+01:00")
    assert await monday_slots(loaded) == ["2026-01-05T09:00:00+01:00", "2026-01-05T11:00:00+01:00"]
    await set_clock(loaded, now="2026-01-05T09:30:00+01:00", freeze=True)
    assert await monday_slots(loaded) == ["2026-01-05T11:00:00+01:00"]  # 09:00 has passed
    await set_clock(loaded, advance="2h")
    assert await monday_slots(loaded) == []
    await loaded.delete("/_admin/clock", headers=ADMIN)
    assert await monday_slots(loaded) == []


async def create(client: httpx.AsyncClient, day: int, key: str | None = None) -> dict[str, Any]:
    start = MONDAY + day * 86_400_000 + 15 * 3_600_000
    body = {
        "locationId": LOCATION,
        "calendarId": CALENDAR,
        "startTime": format_ms(start, zone(PARIS)),
        "endTime": format_ms(start + 3_600_000, zone(PARIS)),
    }
    headers = {**API, "Idempotency-Key": key} if key else API
    response = await client.post("/calendars/events/block-slots", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_dates_added_and_updated_are_the_clock(loaded: httpx.AsyncClient) -> None:
    at = (await set_clock(loaded, now="2030-06-01T08:00:00Z", freeze=True))["now"]
    created = await create(loaded, 1)
    assert created["dateAdded"] == created["dateUpdated"] == "2030-06-01T10:00:00+02:00"
    await set_clock(loaded, advance="1d")
    edited = await loaded.put(
        f"/calendars/events/block-slots/{created['id']}",
        json={"locationId": LOCATION, "title": "moved"},
        headers=API,
    )
    assert edited.json()["dateUpdated"] == "2030-06-02T10:00:00+02:00"
    assert at == parse_iso("2030-06-01T08:00:00Z")


async def test_idempotency_keys_expire_as_the_clock_advances(loaded: httpx.AsyncClient) -> None:
    await set_clock(loaded, now="2026-01-04T12:00:00+01:00", freeze=True)
    first = await create(loaded, 1, key="clock-key-1")
    assert (await create(loaded, 1, key="clock-key-1"))["id"] == first["id"]
    await set_clock(loaded, advance="23h")
    assert (await create(loaded, 1, key="clock-key-1"))["id"] == first["id"]
    await set_clock(loaded, advance="61m")  # past SLOTBLOCK_IDEMPOTENCY_HOURS (24)
    assert (await create(loaded, 1, key="clock-key-1"))["id"] != first["id"]


async def test_sync_tokens_expire_as_the_clock_advances(loaded: httpx.AsyncClient) -> None:
    await set_clock(loaded, now="2026-01-04T12:00:00+01:00", freeze=True)
    changes = "/calendars/blocked-slots/changes"
    params = {"locationId": LOCATION}
    sync = (await loaded.get(changes, params=params, headers=API)).json()["nextSyncToken"]
    await create(loaded, 2)
    await set_clock(loaded, advance="6d")
    again = await loaded.get(changes, params={**params, "syncToken": sync}, headers=API)
    assert again.status_code == 200 and len(again.json()["events"]) == 1
    await set_clock(loaded, advance="1d1m")  # past SLOTBLOCK_SYNC_RETENTION_DAYS (7)
    gone = await loaded.get(changes, params={**params, "syncToken": sync}, headers=API)
    assert gone.status_code == 410


async def test_a_fixture_document_sets_the_clock_and_reset_forgets_it(
    admin_client: httpx.AsyncClient,
) -> None:
    document = {**DOCUMENT, "clock": {"now": "2026-01-05T09:30:00+01:00", "frozen": True}}
    loaded = await load(admin_client, document)
    assert loaded.status_code == 201 and loaded.json()["loaded"]["clock"] == parse_iso(
        "2026-01-05T09:30:00+01:00"
    )
    assert await monday_slots(admin_client) == ["2026-01-05T11:00:00+01:00"]
    exported = (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()
    assert exported["clock"] == {"now": "2026-01-05T08:30:00.000Z", "frozen": True}
    one = await admin_client.get("/_admin/fixtures", params={"locationId": LOCATION}, headers=ADMIN)
    assert "clock" not in one.json()
    # a dateAdded of the load is the document's time
    calendar = await admin_client.get(f"/calendars/{CALENDAR}", headers=API)
    assert calendar.status_code == 200
    await admin_client.post("/_admin/reset", json={"locationId": LOCATION}, headers=ADMIN)
    assert (await get_clock(admin_client))["frozen"] is True  # one location: the clock stays
    assert (await admin_client.post("/_admin/reset", headers=ADMIN)).status_code == 200
    assert (await get_clock(admin_client))["controlled"] is False
    assert "clock" not in (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()


async def test_a_bad_fixture_clock_is_a_problem_with_its_path(
    admin_client: httpx.AsyncClient,
) -> None:
    for clock, problem in (
        ({"now": "monday"}, "$.clock.now: must be epoch milliseconds or an ISO 8601"),
        ({"now": 1, "frozen": "yes"}, "$.clock.frozen: "),
        ({"when": 1}, "$.clock.now: "),
    ):
        response = await load(admin_client, {**DOCUMENT, "clock": clock})
        assert response.status_code == 400
        assert any(m.startswith(problem) for m in response.json()["message"]), response.json()
    assert (await get_clock(admin_client))["controlled"] is False
    exported = (await admin_client.get("/_admin/fixtures", headers=ADMIN)).json()
    assert exported == {"locations": []}


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    """An app instance with its own store (its own pools and caches), as another node."""
    store = open_store(settings.database_url, pool_size=2)
    transport = httpx.ASGITransport(app=create_app(settings, store), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            yield client, store
    finally:
        await store.dispose()


@pytest.mark.parametrize("direct_reads", [True, False])
async def test_two_app_instances_on_one_database_tell_the_same_time(
    admin_settings: Settings, direct_reads: bool
) -> None:
    """The control plane's snapshot on the driver's own connection, or through SQLAlchemy."""
    settings = admin_settings.model_copy(update={"direct_reads": direct_reads})
    async with app_client(settings) as (a, _), app_client(settings) as (b, _):
        assert (await load(a, DOCUMENT)).status_code == 201
        assert await monday_slots(b) == []
        await set_clock(a, now="2026-01-05T09:30:00+01:00", freeze=True)
        assert await monday_slots(b) == ["2026-01-05T11:00:00+01:00"]
        assert (await get_clock(b))["now"] == parse_iso("2026-01-05T09:30:00+01:00")
        await set_clock(b, advance="2h")
        assert await monday_slots(a) == []
        created = await create(a, 1)
        assert created["dateAdded"] == "2026-01-05T11:30:00+01:00"
        await b.post("/_admin/reset", headers=ADMIN)
        assert (await get_clock(a))["controlled"] is False
        assert (await load(a, DOCUMENT)).status_code == 201
        assert await monday_slots(b) == []


@contextmanager
def counted_statements(store: Store, word: str) -> Iterator[list[str]]:
    """The SQL statements naming `word` that `store`'s engine runs in the block."""
    seen: list[str] = []

    def before(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if word in statement:
            seen.append(statement)

    engine = store.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


async def test_off_without_the_admin_api_whatever_is_stored(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node without the admin API reads no clock (on either path: SQLAlchemy's, or the
    driver's own connection), follows none, and logs nothing."""
    async with app_client(Settings(database_url=database_url, admin_token=ADMIN_TOKEN)) as (
        admin,
        _,
    ):
        assert (await load(admin, DOCUMENT)).status_code == 201
        await set_clock(admin, now="2030-06-01T08:00:00Z", freeze=True)
        assert (await admin.post("/_admin/faults", json={"status": 503}, headers=ADMIN)).is_success
    direct: list[str] = []
    fetch_row = WindowReader.fetch_row

    async def counted(reader: WindowReader, sql: str) -> Any:
        direct.append(sql)
        return await fetch_row(reader, sql)

    monkeypatch.setattr(WindowReader, "fetch_row", counted)
    async with app_client(Settings(database_url=database_url)) as (plain, store):
        with (
            counted_statements(store, "clock") as clock_reads,
            counted_statements(store, "request_log") as log_writes,
        ):
            created = await create(plain, 1)  # no fault: the rules are not followed
            query = {"locationId": LOCATION, "startTime": str(MONDAY)}
            query["endTime"], query["calendarId"] = str(SATURDAY), CALENDAR
            for _ in range(3):
                listed = await plain.get("/calendars/blocked-slots", params=query, headers=API)
                assert listed.status_code == 200
        assert clock_reads == [] and log_writes == [] and direct == []
        assert abs(parse_iso(created["dateAdded"]) - time.time() * 1000) < 60_000
        assert (await plain.get("/_admin/clock", headers=ADMIN)).status_code == 404
    async with app_client(Settings(database_url=database_url, admin_token=ADMIN_TOKEN)) as (
        admin,
        _,
    ):
        assert (await admin.get("/calendars/blocked-slots", params=query, headers=API)).is_error
        assert direct, "with the admin API on, the snapshot is read on the driver's connection"


async def test_the_webhook_dispatcher_of_another_node_keeps_the_clock(
    admin_settings: Settings,
) -> None:
    """A dispatcher whose node serves no request still reads the clock before each round:
    a delivery is due by the clock, and a retry waits for it while it is frozen."""
    # the receiver listens on this machine: loopback is let through the outbound guard
    update = {"webhook_dispatch": False, "outbound_allow_networks": "127.0.0.0/8"}
    settings = admin_settings.model_copy(update=update)
    async with app_client(settings) as (a, _):
        store = open_store(settings.database_url, pool_size=1)
        other = create_app(settings, store)  # a node that serves nothing but dispatches
        dispatcher = Dispatcher(store, settings, other.state.clock, event_json)
        try:
            with receiving() as receiver:
                assert (await load(a, DOCUMENT)).status_code == 201
                hook = {"locationId": LOCATION, "url": receiver.url}
                assert (await a.post("/_admin/webhooks", json=hook, headers=ADMIN)).is_success
                await set_clock(a, now="2026-01-05T09:00:00+01:00", freeze=True)
                receiver.always = 503
                await create(a, 1)
                assert await dispatcher.run_once() == 1  # due at the frozen time: tried
                assert await dispatcher.run_once() == 0  # its retry waits for the clock
                receiver.always = None
                await set_clock(a, advance="10m")
                assert await dispatcher.run_once() == 1
                [delivered] = receiver.received
                assert delivered.json["timestamp"] == "2026-01-05T08:00:00.000Z"
        finally:
            await dispatcher.stop()
            await store.dispose()


async def test_the_stored_clock_follows_the_admin_gate(store: Store) -> None:
    clock = StoredClock(store, real=lambda: 1_000)
    await clock.change(now_ms=5_000, freeze=True)
    assert clock() == 5_000  # the process that set it
    other = StoredClock(store, real=lambda: 2_000)
    await other.refresh()
    assert other() == 2_000  # not followed: the admin API is off

    async def on() -> bool:
        return True

    other.applies = on
    await other.refresh()
    assert other() == 5_000 and other.setting == ClockSetting(5_000, 1_000, True)
    await clock.release()
    await other.refresh()
    assert other() == 2_000
