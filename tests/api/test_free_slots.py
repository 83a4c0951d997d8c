"""GET /calendars/{calendarId}/free-slots (get-slots) over HTTP, on SQLite and PostgreSQL:
hand-computed tables over stored blocks (a recurring user block across DST, a moved and a
deleted instance, a block covering half a slot), members, zones, and every refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.core.isotime import parse_iso
from slotblock.service.container import Services, build_services
from slotblock.store import Store
from tests.api.calls import create, delete, edit
from tests.conftest import Clock, Tenant, make_tenant

pytestmark = pytest.mark.anyio

WEEKDAYS_9_TO_12 = {
    "openHours": [
        {
            "daysOfTheWeek": [1, 2, 3, 4, 5],
            "hours": [{"openHour": 9, "openMinute": 0, "closeHour": 12, "closeMinute": 0}],
        }
    ],
    "slotDuration": 60,
    "slotDurationUnit": "mins",
    "slotInterval": 60,
    "slotIntervalUnit": "mins",
}
# Friday 2024-03-08 to Saturday 2024-03-16 in New York: DST starts on Sunday 03-10.
WINDOW = (parse_iso("2024-03-08T00:00:00-05:00"), parse_iso("2024-03-16T00:00:00-04:00"))


@pytest.fixture
async def ny(services: Services) -> Tenant:
    return await make_tenant(services, "America/New_York")


async def set_hours(client: httpx.AsyncClient, t: Tenant, **fields: Any) -> None:
    response = await client.put(
        f"/calendars/{t.calendar_id}", json={**WEEKDAYS_9_TO_12, **fields}, headers=t.headers()
    )
    assert response.status_code == 200, response.text


async def free_slots(
    client: httpx.AsyncClient,
    t: Tenant,
    window: tuple[int, int] = WINDOW,
    calendar_id: str | None = None,
    **params: Any,
) -> httpx.Response:
    query = {"startDate": str(window[0]), "endDate": str(window[1]), **params}
    return await client.get(
        f"/calendars/{calendar_id or t.calendar_id}/free-slots", params=query, headers=t.headers()
    )


async def hours_by_day(client: httpx.AsyncClient, t: Tenant, **params: Any) -> dict[str, list[str]]:
    response = await free_slots(client, t, **params)
    assert response.status_code == 200, response.text
    return {day: [s[11:16] + s[19:] for s in v["slots"]] for day, v in response.json().items()}


async def test_stored_blocks_are_subtracted(client: httpx.AsyncClient, ny: Tenant) -> None:
    await set_hours(client, ny)
    series = await create(
        client, ny, assignedUserId=ny.user_id, title="Focus", rrule="RRULE:FREQ=DAILY",
        startTime="2024-03-08T09:00:00-05:00", endTime="2024-03-08T09:30:00-05:00",
    )  # fmt: skip
    tuesday = f"{series['id']}_{parse_iso('2024-03-12T09:00:00-04:00')}_1800"
    moved = await edit(
        client, ny, tuesday, startTime="2024-03-12T11:00:00-04:00",
        endTime="2024-03-12T11:30:00-04:00",
    )  # fmt: skip
    assert moved.status_code == 201
    wednesday = f"{series['id']}_{parse_iso('2024-03-13T09:00:00-04:00')}_1800"
    assert (await delete(client, ny, wednesday)).status_code == 201
    await create(
        client, ny, title="Half a slot",
        startTime="2024-03-14T10:30:00-04:00", endTime="2024-03-14T11:00:00-04:00",
    )  # fmt: skip
    assert await hours_by_day(client, ny) == {
        "2024-03-08": ["10:00-05:00", "11:00-05:00"],  # 09:00 blocked (the series' start)
        "2024-03-11": ["10:00-04:00", "11:00-04:00"],  # 09:00 local after DST, still blocked
        "2024-03-12": ["09:00-04:00", "10:00-04:00"],  # the instance moved to 11:00
        "2024-03-13": ["09:00-04:00", "10:00-04:00", "11:00-04:00"],  # instance deleted
        "2024-03-14": ["11:00-04:00"],  # 09:00 series, 10:30-11:00 calendar block
        "2024-03-15": ["10:00-04:00", "11:00-04:00"],
    }


async def test_round_robin_and_collective(
    client: httpx.AsyncClient, ny: Tenant, services: Services
) -> None:
    bob = await services.tenants.create_user(ny.location_id, "Bob")
    await set_hours(
        client, ny, teamMembers=[{"userId": ny.user_id}, {"userId": bob}],
        availabilities=[], availabilityType=0,
    )  # fmt: skip
    await create(
        client, ny, assignedUserId=ny.user_id,
        startTime="2024-03-11T10:00:00-04:00", endTime="2024-03-11T11:00:00-04:00",
    )  # fmt: skip
    monday = (parse_iso("2024-03-11T00:00:00-04:00"), parse_iso("2024-03-12T00:00:00-04:00"))
    everyone = ["09:00-04:00", "10:00-04:00", "11:00-04:00"]
    assert await hours_by_day(client, ny, window=monday) == {"2024-03-11": everyone}
    ann_only = await hours_by_day(client, ny, window=monday, userId=ny.user_id)
    assert ann_only == {"2024-03-11": ["09:00-04:00", "11:00-04:00"]}
    both = await hours_by_day(client, ny, window=monday, userIds=[ny.user_id, bob])
    assert both == {"2024-03-11": everyone}
    assert await hours_by_day(client, ny, window=monday, userIds=[bob]) == {"2024-03-11": everyone}

    collective = await client.post(
        "/calendars/", headers=ny.headers(),
        json={"locationId": ny.location_id, "name": "Panel", "calendarType": "collective",
              "teamMembers": [{"userId": ny.user_id}, {"userId": bob}], **WEEKDAYS_9_TO_12},
    )  # fmt: skip
    assert collective.status_code == 200, collective.text
    panel = collective.json()["calendar"]["id"]
    got = await free_slots(client, ny, monday, calendar_id=panel)
    assert [s[11:16] for s in got.json()["2024-03-11"]["slots"]] == ["09:00", "11:00"]


async def test_answer_in_the_requested_zone(client: httpx.AsyncClient, ny: Tenant) -> None:
    await set_hours(client, ny)
    friday = (parse_iso("2024-03-08T00:00:00-05:00"), parse_iso("2024-03-09T00:00:00-05:00"))
    response = await free_slots(client, ny, friday, timezone="Asia/Kolkata")
    assert response.json() == {
        "2024-03-08": {"slots": ["2024-03-08T19:30:00+05:30", "2024-03-08T20:30:00+05:30",
                                 "2024-03-08T21:30:00+05:30"]},
    }  # fmt: skip
    # milliseconds written as a JSON number with a fraction are taken (the SDK sends floats)
    floats = await free_slots(client, ny, friday, startDate=f"{friday[0]}.0")
    assert len(floats.json()["2024-03-08"]["slots"]) == 3


async def test_no_opening_hours_no_slots(client: httpx.AsyncClient, ny: Tenant) -> None:
    response = await free_slots(client, ny)
    assert (response.status_code, response.json()) == (200, {})
    await set_hours(client, ny, isActive=False)
    assert (await free_slots(client, ny)).json() == {}


async def test_minimum_notice_from_the_clock(
    client: httpx.AsyncClient, ny: Tenant, clock: Clock
) -> None:
    await set_hours(client, ny, allowBookingAfter=1, allowBookingAfterUnit="days")
    clock.now_ms = parse_iso("2024-03-13T10:30:00-04:00")
    got = await hours_by_day(client, ny)
    assert got == {"2024-03-14": ["11:00-04:00"], "2024-03-15": ["09:00-04:00", "10:00-04:00",
                                                                "11:00-04:00"]}  # fmt: skip


def message(response: httpx.Response) -> Any:
    return response.json()["message"]


async def test_refusals(
    client: httpx.AsyncClient, ny: Tenant, other: Tenant, services: Services
) -> None:
    start = WINDOW[0]
    day = 86_400_000
    too_long = await free_slots(client, ny, (start, start + 31 * day + 1))
    assert too_long.status_code == 422
    assert message(too_long) == ["the window is longer than 31 days; query less"]
    assert (await free_slots(client, ny, (start, start + 31 * day))).status_code == 200
    assert (await free_slots(client, ny, (start, start))).status_code == 422
    seconds = await free_slots(client, ny, (start // 1000, start // 1000 + 86_400))
    assert message(seconds) == [
        "startDate and endDate are epoch milliseconds; these look like seconds"
    ]
    bad_zone = await free_slots(client, ny, timezone="Mars/Olympus")
    assert bad_zone.status_code == 400
    assert message(bad_zone) == ["timezone must be an IANA time zone; 'Mars/Olympus' is not one"]
    missing = await client.get(f"/calendars/{ny.calendar_id}/free-slots", headers=ny.headers())
    assert message(missing) == ["startDate should not be empty", "endDate should not be empty"]
    assert (await free_slots(client, ny, startDate="soon")).status_code == 400
    assert (await free_slots(client, ny, unknown="1")).status_code == 400
    assert (await free_slots(client, ny, calendar_id=other.calendar_id)).status_code == 404
    assert (await free_slots(client, ny, calendar_id="nope!")).status_code == 404
    stranger = await free_slots(client, ny, userId=other.user_id)
    assert (stranger.status_code, message(stranger)) == (404, f"User {other.user_id} not found")
    outsider = await services.tenants.create_user(ny.location_id, "Not on the team")
    not_member = await free_slots(client, ny, userIds=[outsider])
    assert not_member.status_code == 422
    token, _ = await services.tenants.create_token(ny.location_id, ["calendars/events.readonly"])
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    no_scope = await client.get(
        f"/calendars/{ny.calendar_id}/free-slots",
        params={"startDate": str(start), "endDate": str(start + day)},
        headers=headers,
    )
    assert no_scope.status_code == 401


@pytest.fixture
async def short_client(
    database_url: str, store: Store, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """An app whose free-slots window is at most 2 days (SLOTBLOCK_MAX_SLOT_WINDOW_DAYS)."""
    settings = Settings(database_url=database_url, max_slot_window_days=2)
    app = create_app(settings, store)
    app.state.services = build_services(store, settings, clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as the_client:
        yield the_client, app.state.services


async def test_window_limit_is_a_setting(
    short_client: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = short_client
    t = await make_tenant(services, "America/New_York")
    start = WINDOW[0]
    assert (await free_slots(client, t, (start, start + 2 * 86_400_000))).status_code == 200
    refused = await free_slots(client, t, (start, start + 2 * 86_400_000 + 1))
    assert message(refused) == ["the window is longer than 2 days; query less"]
