"""The demo data: the example ids of the blocked-slots documentation page, so that its
example request (locationId, calendarId/userId/groupId, startTime 1680373800000, endTime
1680978599999) returns events for each filter, and series that reach every later week."""

from __future__ import annotations

from slotblock.core.errors import NotFound
from slotblock.core.isotime import parse_iso
from slotblock.core.model import SCOPES, Principal
from slotblock.service.blocks import BlockInput, BlockService
from slotblock.service.calendars import CalendarInput, CalendarService, GroupInput
from slotblock.service.tenants import TenantService

LOCATION_ID = "0007BWpSzSwfiuSl0tR2"
TIMEZONE = "Asia/Kolkata"
USER_ID = "CVokAlI8fgw4WYWoCtQz"
GROUP_ID = "ocQHyuzHvysMo5N5VsXc"
CALENDAR_ID = "BqTwX8QFwXzpegMve9EQ"
SEED_WINDOW = (1680373800000, 1680978599999)

# Weekdays 08:00-18:00 (Asia/Kolkata), 30-minute slots: free slots around the blocks below.
OPENING = {
    "openHours": [
        {
            "daysOfTheWeek": [1, 2, 3, 4, 5],
            "hours": [{"openHour": 8, "openMinute": 0, "closeHour": 18, "closeMinute": 0}],
        }
    ],
    "slotDuration": 30,
    "slotDurationUnit": "mins",
    "slotInterval": 30,
    "slotIntervalUnit": "mins",
}


def coming_week(now_ms: int) -> tuple[int, int]:
    """Seven days from the start of today (UTC): a window with free and blocked slots."""
    start = now_ms - now_ms % 86_400_000
    return start, start + 7 * 86_400_000


_BLOCKS = (
    ("calendar", "Lunch break", "2023-04-03T13:00:00+05:30", "2023-04-03T14:00:00+05:30", None),
    ("user", "Dentist", "2023-04-04T10:00:00+05:30", "2023-04-04T12:00:00+05:30", None),
    (
        "calendar",
        "Weekly planning",
        "2023-04-03T09:30:00+05:30",
        "2023-04-03T10:00:00+05:30",
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
    ),
    (
        "user",
        "Focus time",
        "2023-04-03T08:00:00+05:30",
        "2023-04-03T08:30:00+05:30",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    ),
)


async def ensure_demo(
    tenants: TenantService, calendars: CalendarService, blocks: BlockService
) -> bool:
    """Create the demo location and its data unless it exists; True when it was created."""
    try:
        await tenants.location(LOCATION_ID)
        return False
    except NotFound:
        pass
    location = await tenants.create_location("Demo location", TIMEZONE, LOCATION_ID)
    await tenants.create_user(LOCATION_ID, "Demo user", "demo@example.com", USER_ID)
    await calendars.add_group(
        LOCATION_ID, GroupInput(name="Demo group", description="Demo", slug="demo", id=GROUP_ID)
    )
    members = ({"userId": USER_ID, "priority": 0.5, "isPrimary": True},)
    await calendars.add_calendar(
        LOCATION_ID,
        CalendarInput(
            name="Demo calendar",
            group_id=GROUP_ID,
            team_members=members,
            id=CALENDAR_ID,
            extra=OPENING,
        ),
    )
    principal = Principal("demo", location, frozenset(SCOPES))
    for owner, title, start, end, rrule in _BLOCKS:
        await blocks.create(
            principal,
            BlockInput(
                location_id=LOCATION_ID,
                calendar_id=CALENDAR_ID if owner == "calendar" else None,
                assigned_user_id=USER_ID if owner == "user" else None,
                texts={"title": title},
                start_ms=parse_iso(start),
                end_ms=parse_iso(end),
                rrule=rrule,
            ),
        )
    return True
