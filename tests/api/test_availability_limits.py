"""Free slots and free/busy on the query's expansion path, on SQLite and PostgreSQL: every
bound is a setting answered with a clear 422, the work of a request is metered by the one
work budget, and the expansion cache and window check are the query's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.core.isotime import parse_iso
from slotblock.service.calendars import CalendarInput
from slotblock.service.container import Services, build_services
from slotblock.store import Store
from tests.api.calls import create
from tests.conftest import Clock, Tenant, make_tenant

pytestmark = pytest.mark.anyio

DAY = 86_400_000
MONDAY = parse_iso("2024-06-03T00:00:00-04:00")
NINE_TO_NOON = {"openHour": 9, "openMinute": 0, "closeHour": 12, "closeMinute": 0}


async def app_client(
    settings: Settings, store: Store, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    app = create_app(settings, store)
    app.state.services = build_services(store, settings, clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as client:
        yield client, app.state.services


@pytest.fixture
async def tight(
    database_url: str, store: Store, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    settings = Settings(
        database_url=database_url,
        pool_size=2,
        max_slot_members=2,
        max_slot_ranges=2,
        max_slot_custom_dates=2,
        max_slots=5,
        max_free_busy_targets=2,
    )
    async for pair in app_client(settings, store, clock):
        yield pair


def hours(*ranges: dict[str, int], days: tuple[int, ...] = (1,)) -> dict[str, Any]:
    return {"openHours": [{"daysOfTheWeek": list(days), "hours": list(ranges)}]}


async def slots(
    client: httpx.AsyncClient, t: Tenant, calendar: str, days: int = 1, **params: Any
) -> httpx.Response:
    window = {"startDate": str(MONDAY), "endDate": str(MONDAY + days * DAY), **params}
    return await client.get(f"/calendars/{calendar}/free-slots", params=window, headers=t.headers())


async def calendar(
    services: Services, t: Tenant, members: tuple[str, ...] = (), **fields: Any
) -> str:
    team = tuple({"userId": m} for m in members)
    body = CalendarInput(
        name="c", team_members=team, extra={"slotDuration": 60, "slotInterval": 60, **fields}
    )
    return (await services.calendars.add_calendar(t.location_id, body)).id


def refused(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text[:300]
    [message] = response.json()["message"]
    assert isinstance(message, str)
    return message


async def test_team_members_are_bounded(tight: tuple[httpx.AsyncClient, Services]) -> None:
    client, services = tight
    t = await make_tenant(services, "America/New_York")
    users = [await services.tenants.create_user(t.location_id, f"u{i}") for i in range(3)]
    three = await calendar(services, t, tuple(users), **hours(NINE_TO_NOON))
    assert "more than 2 team members" in refused(await slots(client, t, three))
    two = await slots(client, t, three, userIds=users[:2])
    assert two.status_code == 200 and len(two.json()["2024-06-03"]["slots"]) == 3


async def test_opening_ranges_a_day_are_bounded_after_merging(
    tight: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = tight
    t = await make_tenant(services, "America/New_York")
    same = await calendar(services, t, **hours(*[NINE_TO_NOON] * 1_000))
    assert (await slots(client, t, same)).json() == {
        "2024-06-03": {"slots": [f"2024-06-03T{h}:00:00-04:00" for h in ("09", "10", "11")]}
    }
    apart = [{**NINE_TO_NOON, "openHour": h, "closeHour": h + 1} for h in (8, 10, 13)]
    three = await calendar(services, t, **hours(*apart))
    assert "more than 2 separate ranges on one day" in refused(await slots(client, t, three))


async def test_custom_dates_and_candidate_slots_are_bounded(
    tight: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = tight
    t = await make_tenant(services, "America/New_York")
    dates = [{"date": f"2024-06-0{d}T00:00:00.000Z", "hours": [NINE_TO_NOON]} for d in (3, 4, 5)]
    custom = await calendar(services, t, availabilities=dates)
    assert "more than 2 custom dates" in refused(await slots(client, t, custom))
    week = await calendar(services, t, **hours(NINE_TO_NOON, days=(1, 2)))
    assert (await slots(client, t, week, days=1)).status_code == 200  # 3 slots
    assert "more than 5 possible slots" in refused(await slots(client, t, week, days=2))


async def test_free_busy_targets_are_bounded(tight: tuple[httpx.AsyncClient, Services]) -> None:
    client, services = tight
    t = await make_tenant(services)
    params = {"locationId": t.location_id, "startTime": str(MONDAY), "endTime": str(MONDAY + DAY)}
    two = {**params, "calendarId": t.calendar_id, "userId": t.user_id}
    answer = await client.get("/calendars/free-busy", params=two, headers=t.headers())
    assert answer.status_code == 200
    three = {**two, "groupId": t.group_id}
    too_many = await client.get("/calendars/free-busy", params=three, headers=t.headers())
    assert "more than 2 calendars, users and groups" in refused(too_many)


@pytest.fixture
async def frugal(
    database_url: str, store: Store, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """One work budget of 2,000 units a request (SLOTBLOCK_QUERY_WORK)."""
    settings = Settings(database_url=database_url, pool_size=2, query_work=2_000)
    async for pair in app_client(settings, store, clock):
        yield pair


async def test_slot_checks_are_charged_to_the_query_work_budget(
    frugal: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = frugal
    t = await make_tenant(services, "America/New_York")
    users = [await services.tenants.create_user(t.location_id, f"u{i}") for i in range(2)]
    for user in users:  # both members busy all day: every candidate checks both
        await create(client, t, assignedUserId=user, startTime="2024-06-03T00:00:00-04:00",
                     endTime="2024-06-04T00:00:00-04:00")  # fmt: skip
    minutes = {"slotDuration": 1, "slotInterval": 1}
    # 09:00-12:00 in one-minute slots: 180 candidates x (1 + 2 members) = 540 units
    small = await calendar(services, t, tuple(users), **minutes, **hours(NINE_TO_NOON))
    assert (await slots(client, t, small)).json() == {}
    # 00:00-24:00: 1,440 candidates x 3 = 4,320 units, past the 2,000 of the budget
    whole_day = {**NINE_TO_NOON, "openHour": 0, "closeHour": 0}
    large = await calendar(services, t, tuple(users), **minutes, **hours(whole_day))
    assert refused(await slots(client, t, large)) == (
        "computing the free slots of this window needs more than 2000 units of work; "
        "query a shorter window or fewer users"
    )


async def test_free_busy_and_free_slots_expand_on_the_querys_path(
    frugal: tuple[httpx.AsyncClient, Services],
) -> None:
    """The same expansion cache, the same budget and message, the same window check."""
    client, services = frugal
    t = await make_tenant(services, "America/New_York")
    await create(client, t, calendarId=t.calendar_id, startTime="2024-06-03T13:00:00-04:00",
                 endTime="2024-06-03T13:30:00-04:00", rrule="RRULE:FREQ=HOURLY")  # fmt: skip
    cache = services.blocks.expansion.cache
    week = {"locationId": t.location_id, "calendarId": t.calendar_id, "startTime": str(MONDAY),
            "endTime": str(MONDAY + 7 * DAY)}  # fmt: skip
    assert (await client.get("/calendars/free-busy", params=week, headers=t.headers())).is_success
    misses, hits = cache.stats().misses, cache.stats().hits
    queried = await client.get("/calendars/blocked-slots", params=week, headers=t.headers())
    assert len(queried.json()["events"]) == 7 * 24 - 13
    assert cache.stats().misses == misses and cache.stats().hits > hits  # the same weeks
    months = {**week, "endTime": str(MONDAY + 300 * DAY)}
    for path in ("/calendars/free-busy", "/calendars/blocked-slots"):
        answer = await client.get(path, params=months, headers=t.headers())
        assert refused(answer) == (
            "expanding the recurring blocks of this window needs more than 2000 units of "
            "work; query a shorter window"
        )
    for window in ((MONDAY, MONDAY + 367 * DAY), (32_503_680_000_000, 32_503_680_000_001)):
        far = {**week, "startTime": str(window[0]), "endTime": str(window[1])}
        answers = [
            await client.get(path, params=far, headers=t.headers())
            for path in ("/calendars/free-busy", "/calendars/blocked-slots")
        ]
        assert refused(answers[0]) == refused(answers[1])
