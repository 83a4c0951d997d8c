"""Calendar and group writes are checked against the official request DTOs of
calendars.json (types, enums, ranges, required fields, at every level), in the platform's
400 shape; what was refused is not stored, and what the server returns is accepted back.

Before, every pass-through field took any JSON: `openHours: "x"`, `slotDuration: "abc"`,
`availabilities: [{"date": 5}]` and an empty `name` were all stored (200) and later read by
free slots."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from slotblock.store import Store
from tests.conftest import Clock, Tenant, snapshot

pytestmark = pytest.mark.anyio

HOURS = {"openHour": 9, "openMinute": 0, "closeHour": 17, "closeMinute": 30}
# Every official field of CalendarUpdateDTO, with a value the DTO allows.
EVERY_FIELD: dict[str, Any] = {
    "notifications": [
        {
            "type": "email",
            "shouldSendToContact": True,
            "shouldSendToGuest": False,
            "shouldSendToUser": True,
            "shouldSendToSelectedUsers": False,
            "selectedUsers": "a@example.com,b@example.com",
        }
    ],
    "eventType": "RoundRobin_OptimizeForEqualDistribution",
    "name": "Consultation",
    "description": "thirty minutes",
    "slug": "consultation",
    "widgetSlug": "consultation",
    "widgetType": "default",
    "eventTitle": "{{contact.name}}",
    "eventColor": "#039be5",
    "locationConfigurations": [{"kind": "physical", "location": "Room 2"}, {"kind": "booker"}],
    "meetingLocation": "Room 2",
    "slotDuration": 45,
    "slotDurationUnit": "mins",
    "preBufferUnit": "mins",
    "slotInterval": 0.5,
    "slotIntervalUnit": "hours",
    "slotBuffer": 5,
    "slotBufferUnit": "mins",
    "preBuffer": 10,
    "appoinmentPerSlot": 1,
    "appoinmentPerDay": 8,
    "allowBookingAfter": 2,
    "allowBookingAfterUnit": "days",
    "allowBookingFor": 3,
    "allowBookingForUnit": "months",
    "openHours": [
        {"daysOfTheWeek": [1, 2, 3, 4, 5], "hours": [HOURS]},
        {"daysOfTheWeek": [6], "hours": []},
    ],
    "enableRecurring": False,
    "recurring": {
        "freq": "WEEKLY",
        "count": 24,
        "bookingOption": "skip",
        "bookingOverlapDefaultStatus": "new",
    },
    "formId": "f1",
    "stickyContact": True,
    "isLivePaymentMode": False,
    "autoConfirm": True,
    "shouldSendAlertEmailsToAssignedMember": False,
    "alertEmail": "alerts@example.com",
    "googleInvitationEmails": False,
    "allowReschedule": True,
    "allowCancellation": True,
    "shouldAssignContactToTeamMember": False,
    "shouldSkipAssigningContactForExisting": False,
    "notes": "bring the form",
    "pixelId": "px",
    "formSubmitType": "ThankYouMessage",
    "formSubmitRedirectURL": "https://example.com/thanks",
    "formSubmitThanksMessage": "Thanks",
    "availabilityType": 0,
    "availabilities": [
        {"date": "2024-06-03T00:00:00.000Z", "hours": [HOURS], "deleted": False, "id": "a1"}
    ],
    "guestType": "count_only",
    "consentLabel": "I agree",
    "calendarCoverImage": "https://example.com/cover.png",
    "lookBusyConfig": {"enabled": True, "LookBusyPercentage": 12.5},
}

REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"openHours": "x"}, "openHours must be an array"),
    ({"slotDuration": "abc"}, "slotDuration must be a number"),
    ({"slotDuration": True}, "slotDuration must be a number"),
    ({"name": ""}, "name should not be empty"),
    ({"availabilities": [{"date": 5, "hours": []}]}, "availabilities.0.date must be a string"),
    ({"availabilities": [{"date": "soon", "hours": []}]}, "availabilities.0.date must be a date"),
    ({"availabilities": [{"date": "2024-06-03T00:00:00.000Z"}]}, "hours should not be empty"),
    ({"openHours": [{"daysOfTheWeek": [7], "hours": []}]}, "must not be greater than 6"),
    ({"openHours": [{"daysOfTheWeek": [-1], "hours": []}]}, "must not be less than 0"),
    ({"openHours": [{"daysOfTheWeek": [1], "hours": [{**HOURS, "openHour": 24}]}]}, "openHour"),
    ({"openHours": [{"daysOfTheWeek": [1], "hours": [{**HOURS, "closeMinute": 61}]}]}, "60"),
    ({"openHours": [{"daysOfTheWeek": [1], "hours": [{"openHour": 9}]}]}, "closeHour"),
    ({"openHours": [{"daysOfTheWeek": [1], "hours": [], "x": 1}]}, "property openHours.0.x"),
    ({"openHours": [{"hours": []}]}, "openHours.0.daysOfTheWeek should not be empty"),
    ({"slotDurationUnit": "days"}, "slotDurationUnit must be one of"),
    ({"allowBookingForUnit": "hours"}, "allowBookingForUnit must be one of"),
    ({"widgetType": "neo"}, "widgetType must be one of"),
    ({"availabilityType": 2}, "availabilityType must be one of the following values: 0, 1"),
    ({"availabilityType": True}, "availabilityType must be a number"),
    ({"recurring": {"count": 25}}, "recurring.count must not be greater than 24"),
    ({"recurring": {"freq": "YEARLY"}}, "recurring.freq must be one of"),
    ({"lookBusyConfig": {"LookBusyPercentage": 5}}, "lookBusyConfig.enabled should not be empty"),
    ({"notifications": [{"type": "email"}]}, "notifications.0.shouldSendToContact"),
    ({"locationConfigurations": [{"kind": "moon"}]}, "locationConfigurations.0.kind"),
    ({"teamMembers": [{"userId": "u", "priority": 0.7}]}, "teamMembers.0.priority must be one"),
    ({"teamMembers": [{"userId": "u", "priority": True}]}, "teamMembers.0.priority must be a"),
    ({"teamMembers": [{"userId": "u", "meetingLocationType": "x"}]}, "meetingLocationType"),
    ({"enableRecurring": "yes"}, "enableRecurring must be a boolean value"),
    ({"eventColor": 5}, "eventColor must be a string"),
    ({"guestType": "many"}, "guestType must be one of"),
    ({"slotBuffer": 2**64}, "slotBuffer must be an integer between -2^63 and 2^63-1"),
]


@pytest.mark.parametrize(("body", "message"), REFUSED)
async def test_update_refuses_what_the_dto_forbids(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, body: dict[str, Any], message: str
) -> None:
    before = await snapshot(store)
    answer = await client.put(
        f"/calendars/{tenant.calendar_id}", json=body, headers=tenant.headers()
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["statusCode"] == 400 and error["error"] == "Bad Request"
    assert any(message in m for m in error["message"]), error["message"]
    assert await snapshot(store) == before


@pytest.mark.parametrize(("body", "message"), REFUSED[:6])
async def test_create_refuses_what_the_dto_forbids(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, body: dict[str, Any], message: str
) -> None:
    before = await snapshot(store)
    create = {"locationId": tenant.location_id, "name": "New", **body}
    answer = await client.post("/calendars/", json=create, headers=tenant.headers())
    assert answer.status_code == 400, answer.text
    assert any(message in m for m in answer.json()["message"]), answer.text
    assert await snapshot(store) == before


async def test_every_official_field_is_accepted_and_returned_as_sent(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    url, h = f"/calendars/{tenant.calendar_id}", tenant.headers()
    team = [{"userId": tenant.user_id, "priority": 1.0, "isPrimary": True}]
    answer = await client.put(url, json={**EVERY_FIELD, "teamMembers": team}, headers=h)
    assert answer.status_code == 200, answer.text
    calendar = answer.json()["calendar"]
    assert {k: calendar[k] for k in EVERY_FIELD} == EVERY_FIELD
    assert calendar["teamMembers"] == team
    # What the server answers is accepted back (without what an update may not name).
    back = {k: v for k, v in calendar.items() if k not in ("id", "locationId", "calendarType")}
    again = await client.put(url, json=back, headers=h)
    assert again.status_code == 200, again.text
    assert again.json()["calendar"] == calendar
    # CalendarCreateDTO's availabilities have no `id` (UpdateAvailability's do).
    days = [{k: v for k, v in d.items() if k != "id"} for d in back["availabilities"]]
    create = {**back, "availabilities": days, "locationId": tenant.location_id}
    created = await client.post(
        "/calendars/", json={**create, "calendarType": "collective"}, headers=h
    )
    assert created.status_code == 200, created.text
    with_id = await client.post(
        "/calendars/", json={**create, "availabilities": back["availabilities"]}, headers=h
    )
    assert with_id.json()["message"] == ["property availabilities.0.id should not exist"]


async def test_groups_follow_their_dto(client: httpx.AsyncClient, tenant: Tenant) -> None:
    h = tenant.headers()
    good = {"name": "Desk", "description": "", "slug": "desk"}
    edited = await client.put(f"/calendars/groups/{tenant.group_id}", json=good, headers=h)
    assert edited.status_code == 200, edited.text
    for body, message in [
        ({**good, "name": ""}, "name should not be empty"),
        ({**good, "slug": 3}, "slug must be a string"),
        ({"name": "Desk", "description": ""}, "slug should not be empty"),
        ({**good, "isActive": True}, "property isActive should not exist"),
    ]:
        answer = await client.put(f"/calendars/groups/{tenant.group_id}", json=body, headers=h)
        assert answer.status_code == 400, answer.text
        assert message in answer.json()["message"], answer.text
    created = await client.post(
        "/calendars/groups", json={**good, "locationId": tenant.location_id, "name": ""}, headers=h
    )
    assert created.status_code == 400
    assert created.json()["message"] == ["name should not be empty"]


async def test_a_v3_booking_notice_in_minutes_counts_minutes(
    client: httpx.AsyncClient, tenant: Tenant, clock: Clock
) -> None:
    """v3's allowBookingAfterUnit adds `mins`: accepted, and free slots count minutes."""
    day = {"openHour": 0, "openMinute": 0, "closeHour": 0, "closeMinute": 0}  # all day
    fields = {
        "openHours": [{"daysOfTheWeek": [0, 1, 2, 3, 4, 5, 6], "hours": [day]}],
        "allowBookingAfter": 90,
        "allowBookingAfterUnit": "mins",
    }
    h = tenant.headers()
    put = await client.put(f"/calendars/{tenant.calendar_id}", json=fields, headers=h)
    assert put.status_code == 200, put.text
    now = clock.now_ms
    slots = await client.get(
        f"/calendars/{tenant.calendar_id}/free-slots",
        params={"startDate": str(now), "endDate": str(now + 86_400_000), "timezone": "UTC"},
        headers=h,
    )
    assert slots.status_code == 200, slots.text
    starts = [s for day_slots in slots.json().values() for s in day_slots["slots"]]
    # 2023-11-14T22:13:20Z + 90 min = 23:43:20Z; slots start every 30 minutes of Kolkata time
    assert starts[0] == "2023-11-15T00:00:00+00:00"
