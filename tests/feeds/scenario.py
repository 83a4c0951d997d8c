"""The blocked time the feed tests publish, made through the API, and the two ways of reading
it back that must agree: slotblock's own get-blocked-slots answer, and an independent
expansion of the feed's iCalendar document (recurring-ical-events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icalendar
import recurring_ical_events

from slotblock.core.isotime import from_ms, parse_iso, to_ms, zone
from tests.api.calls import create, delete, edit
from tests.conftest import Tenant

# The services' clock in the tests is 2023-11-14T22:13:20Z (tests/conftest.py): a year of
# windows around it, crossing every DST change of these zones in 2023-24.
WINDOW_START = to_ms(datetime(2023, 10, 2, tzinfo=UTC))
WINDOW_END = WINDOW_START + 365 * 86_400_000
ZONES = ("America/New_York", "Europe/Paris", "Australia/Sydney", "Asia/Kolkata")
# (day, of a week with a DST change in the zone), per zone
DST_DAYS = {
    "America/New_York": ("2023-11-05", "2024-03-10"),
    "Europe/Paris": ("2023-10-29", "2024-03-31"),
    "Australia/Sydney": ("2024-04-07", "2023-10-01"),
    "Asia/Kolkata": ("2023-10-29", "2024-03-31"),
}

Instance = tuple[int, int, str, str]  # start ms, end ms, title, key (block id or id_original)


def local(tenant: Tenant, day: str, hour: int, minute: int = 0, *, plus_days: int = 0) -> str:
    """ISO 8601 of a wall time in the tenant's zone (the first of two equal ones)."""
    wall = datetime.fromisoformat(day) + timedelta(days=plus_days, hours=hour, minutes=minute)
    return from_ms(
        to_ms(wall.replace(tzinfo=zone(tenant.timezone))), zone(tenant.timezone)
    ).isoformat()


async def populate(client: httpx.AsyncClient, t: Tenant) -> dict[str, str]:
    """One-offs, series, DST weeks, moved/edited/deleted instances, COUNT and UNTIL series,
    an instance moved across midnight, on the tenant's calendar and user. Ids by name."""
    fall, spring = DST_DAYS[t.timezone]
    made: dict[str, str] = {}

    async def block(name: str, **body: Any) -> dict[str, Any]:
        found = await create(client, t, **body)
        made[name] = found["id"]
        return found

    await block(
        "lunch",
        title="Lunch",
        startTime=local(t, "2023-11-20", 12),
        endTime=local(t, "2023-11-20", 13),
    )
    await block(
        "overnight",
        title="Night shift",
        startTime=local(t, "2024-02-01", 22),
        endTime=local(t, "2024-02-02", 6),
    )
    await block(
        "dentist", assignedUserId=t.user_id, title="Dentist, with a long description; and commas",
        startTime=local(t, spring, 10), endTime=local(t, spring, 11, 30),
        description="Line one\nLine two: ünïcödé — " + "x" * 120, address="1 Main St, Springfield",
    )  # fmt: skip
    # weekly 09:00 on the weekdays around both DST changes of the zone, endless
    weekly = await block(
        "weekly", title="Standup", startTime=local(t, fall, 9, plus_days=-6), endTime=local(t, fall, 9, 30, plus_days=-6),
        rrule="RRULE:FREQ=WEEKLY;BYDAY=" + _weekday(fall, -6),
    )  # fmt: skip
    # daily at 01:30 for 40 days through the autumn change (an ambiguous wall time there)
    await block(
        "early", assignedUserId=t.user_id, title="Early", startTime=local(t, fall, 1, 30, plus_days=-20),
        endTime=local(t, fall, 1, 45, plus_days=-20), rrule="FREQ=DAILY;COUNT=40",
    )  # fmt: skip
    # weekly until a date, through the spring change
    await block(
        "until", title="Review", startTime=local(t, spring, 15, plus_days=-14), endTime=local(t, spring, 16, plus_days=-14),
        rrule="FREQ=WEEKLY;UNTIL=" + (datetime.fromisoformat(spring) + timedelta(days=30)).strftime("%Y%m%d"),
    )  # fmt: skip
    # a series whose instances are moved, edited, deleted, and moved across midnight
    series = await block(
        "series", title="Focus", startTime=local(t, "2023-12-04", 14), endTime=local(t, "2023-12-04", 15),
        rrule="FREQ=DAILY;INTERVAL=2;COUNT=20",
    )  # fmt: skip
    instances = await _instances(client, t, series["id"])
    moved, edited, deleted, midnight = instances[1], instances[2], instances[3], instances[5]
    assert (
        await edit(
            client,
            t,
            moved["id"],
            startTime=local(t, "2023-12-06", 16),
            endTime=local(t, "2023-12-06", 17),
        )
    ).status_code == 201
    assert (
        await edit(client, t, edited["id"], title="Focus (edited)", description="private")
    ).status_code == 201
    assert (await delete(client, t, deleted["id"])).status_code == 201
    assert (
        await edit(
            client,
            t,
            midnight["id"],
            title="Late",
            startTime=local(t, "2023-12-14", 23, 30),
            endTime=local(t, "2023-12-15", 0, 30),
        )
    ).status_code == 201
    # an instance of the weekly series deleted in the spring DST week
    weekly_spring = [
        i for i in await _instances(client, t, weekly["id"]) if i["startTime"][:10] >= spring
    ]
    assert (await delete(client, t, weekly_spring[0]["id"])).status_code == 201
    return made


def _weekday(day: str, plus_days: int) -> str:
    return ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[
        (datetime.fromisoformat(day) + timedelta(days=plus_days)).weekday()
    ]


async def _instances(client: httpx.AsyncClient, t: Tenant, master_id: str) -> list[dict[str, Any]]:
    params = {
        "locationId": t.location_id,
        "startTime": str(WINDOW_START),
        "endTime": str(WINDOW_END),
    }
    found = []
    for target in ({"calendarId": t.calendar_id}, {"userId": t.user_id}):
        response = await client.get(
            "/calendars/blocked-slots", params={**params, **target}, headers=t.headers()
        )
        assert response.status_code == 200, response.text
        found += [e for e in response.json()["events"] if e.get("masterEventId") == master_id]
    return found


async def answered(
    client: httpx.AsyncClient, t: Tenant, target: dict[str, str], busy: bool = False
) -> list[Instance]:
    """slotblock's get-blocked-slots answer for the window, as instances."""
    params = {
        "locationId": t.location_id,
        "startTime": str(WINDOW_START),
        "endTime": str(WINDOW_END),
        **target,
    }
    response = await client.get("/calendars/blocked-slots", params=params, headers=t.headers())
    assert response.status_code == 200, response.text
    out = []
    for event in response.json()["events"]:
        key = event["id"].rsplit("_", 1)[0] if event.get("masterEventId") else event["id"]
        title = "Busy" if busy or not event["title"] else event["title"]
        out.append((parse_iso(event["startTime"]), parse_iso(event["endTime"]), title, key))
    return sorted(out)


def expanded(
    document: bytes, start_ms: int = WINDOW_START, end_ms: int = WINDOW_END
) -> list[Instance]:
    """The document's instances overlapping [start, end), by recurring-ical-events."""
    calendar = icalendar.Calendar.from_ical(document)
    utc = zone("UTC")
    series = {str(e["UID"]) for e in calendar.walk("VEVENT") if "RRULE" in e}
    out = []
    for event in recurring_ical_events.of(calendar).between(
        from_ms(start_ms, utc), from_ms(end_ms, utc)
    ):
        start, end = to_ms(event["DTSTART"].dt), to_ms(event["DTEND"].dt)
        if not (start < end_ms and end > start_ms):
            continue
        block_id = str(event["UID"]).split("-", 1)[0]
        key = block_id
        if str(event["UID"]) in series:
            key = f"{block_id}_{to_ms(event['RECURRENCE-ID'].dt)}"
        out.append((start, end, str(event["SUMMARY"]), key))
    return sorted(out)
