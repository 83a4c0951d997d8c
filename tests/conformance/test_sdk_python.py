"""The official Python SDK (PyPI `gohighlevel-api-client`) against a live slotblock, changed
only in its base URL, with a slotblock private-integration token. Every response is parsed
by the SDK's own models; the one documented deviation (the SDK models type `startTime`,
`endTime`, `dateAdded`, `dateUpdated` as objects, the official spec's error, while every
example and the platform send strings) is asserted exactly, never skipped wholesale."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from slotblock.config import Settings
from tests.conftest import Tenant, seed_tenants
from tests.live import live_server

highlevel = pytest.importorskip("highlevel", reason="gohighlevel-api-client is a test dependency")
models = pytest.importorskip("highlevel.services.calendars.models")

pytestmark = pytest.mark.anyio
SDK_VERSION = version("gohighlevel-api-client")
TIME_FIELDS = {"startTime", "endTime", "dateAdded", "dateUpdated"}


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[str, Tenant]]:
    [tenant] = asyncio.run(seed_tenants(database_url, ("America/New_York",)))
    with live_server(Settings(database_url=database_url)) as base:
        yield base, tenant


def parsed(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    """Parse with the SDK model; the only errors allowed are the documented time fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        unexpected = [e for e in exc.errors() if not (set(map(str, e["loc"])) & TIME_FIELDS)]
        assert unexpected == [], unexpected
        assert all(e["type"] == "dict_type" for e in exc.errors())
        strings = {k: v for k, v in data.items() if k not in TIME_FIELDS}
        return model.model_validate({**strings, **{k: {} for k in TIME_FIELDS if k in data}})


def events_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    for event in response["events"]:
        parsed(models.CalendarEventDTO, event)
    events: list[dict[str, Any]] = response["events"]
    return events


async def test_official_python_sdk(world: tuple[str, Tenant]) -> None:
    base, tenant = world
    client_class = type("LocalHighLevel", (highlevel.HighLevel,), {"BASE_URL": base})
    ghl = client_class(private_integration_token=tenant.token)
    calendars = ghl.calendars
    try:
        group = (await calendars.create_calendar_group({
            "locationId": tenant.location_id, "name": "SDK group", "description": "d", "slug": "sdk-group",
        }))["group"]  # fmt: skip
        models.GroupCreateSuccessfulResponseDTO.model_validate({"group": group})
        created = await calendars.create_calendar({
            "locationId": tenant.location_id, "name": "SDK calendar", "groupId": group["id"],
            "teamMembers": [{"userId": tenant.user_id, "priority": 1, "isPrimary": True}],
            "calendarType": "round_robin", "slotDuration": 30, "slotDurationUnit": "mins",
        })  # fmt: skip
        calendar = models.CalendarByIdSuccessfulResponseDTO.model_validate(created).calendar
        assert calendar.groupId == group["id"] and calendar.slotDuration == 30
        listed = models.CalendarsGetSuccessfulResponseDTO.model_validate(
            await calendars.get_calendars(tenant.location_id, group_id=group["id"])
        )
        assert [c.name for c in listed.calendars or []] == ["SDK calendar"]
        groups = models.AllGroupsSuccessfulResponseDTO.model_validate(
            await calendars.get_groups(tenant.location_id)
        )
        assert group["id"] in [g.id for g in groups.groups or []]

        one_off = await calendars.create_block_slot({
            "locationId": tenant.location_id, "calendarId": calendar.id, "title": "Lunch",
            "startTime": "2024-03-11T12:00:00-04:00", "endTime": "2024-03-11T13:00:00-04:00",
        })  # fmt: skip
        parsed(models.BlockedSlotSuccessfulResponseDto, one_off)
        user_block = await calendars.create_block_slot({
            "locationId": tenant.location_id, "assignedUserId": tenant.user_id, "title": "Dentist",
            "startTime": "2024-03-12T09:00:00-04:00", "endTime": "2024-03-12T10:00:00-04:00",
        })  # fmt: skip
        parsed(models.BlockedSlotSuccessfulResponseDto, user_block)
        series = await calendars.create_block_slot({
            "locationId": tenant.location_id, "calendarId": calendar.id, "title": "Standup",
            "startTime": "2024-03-04T09:00:00-05:00", "endTime": "2024-03-04T09:15:00-05:00",
            "rrule": "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        })  # fmt: skip
        parsed(models.BlockedSlotSuccessfulResponseDto, series)

        window = {"start_time": "1709251200000", "end_time": "1711929600000"}  # March 2024 UTC
        by_calendar = events_of(
            await calendars.get_blocked_slots(tenant.location_id, calendar_id=calendar.id, **window)
        )
        assert [e["title"] for e in by_calendar] == [
            "Standup",
            "Standup",
            "Lunch",
            "Standup",
            "Standup",
        ]
        assert [e["startTime"] for e in by_calendar if e["title"] == "Standup"] == [
            "2024-03-04T09:00:00-05:00", "2024-03-11T09:00:00-04:00",
            "2024-03-18T09:00:00-04:00", "2024-03-25T09:00:00-04:00",
        ]  # fmt: skip
        by_user = events_of(
            await calendars.get_blocked_slots(tenant.location_id, user_id=tenant.user_id, **window)
        )
        assert [e["id"] for e in by_user] == [user_block["id"]]
        by_group = events_of(
            await calendars.get_blocked_slots(tenant.location_id, group_id=group["id"], **window)
        )
        assert [e["id"] for e in by_group] == [e["id"] for e in by_calendar]

        second = next(e for e in by_calendar if e["startTime"].startswith("2024-03-11T09"))
        edited = await calendars.edit_block_slot(second["id"], {
            "locationId": tenant.location_id, "calendarId": calendar.id, "title": "Moved standup",
            "startTime": "2024-03-11T10:00:00-04:00", "endTime": "2024-03-11T10:15:00-04:00",
        })  # fmt: skip
        assert parsed(models.BlockedSlotSuccessfulResponseDto, edited).id == second["id"]  # type: ignore[attr-defined]
        renamed = await calendars.edit_block_slot(series["id"], {
            "locationId": tenant.location_id, "calendarId": calendar.id, "title": "Weekly standup",
        })  # fmt: skip
        parsed(models.BlockedSlotSuccessfulResponseDto, renamed)
        third = next(e for e in by_calendar if e["startTime"].startswith("2024-03-18"))
        deleted = await calendars.delete_event(third["id"], {})
        assert models.DeleteEventSuccessfulResponseDto.model_validate(deleted).succeeded is True
        after = events_of(
            await calendars.get_blocked_slots(tenant.location_id, calendar_id=calendar.id, **window)
        )
        assert [(e["title"], e["startTime"][:13]) for e in after] == [
            ("Weekly standup", "2024-03-04T09"), ("Moved standup", "2024-03-11T10"),
            ("Lunch", "2024-03-11T12"), ("Weekly standup", "2024-03-25T09"),
        ]  # fmt: skip

        assert (await calendars.delete_event(series["id"], {}))["succeeded"] is True
        assert (await calendars.delete_event(one_off["id"], {}))["succeeded"] is True
        empty = events_of(
            await calendars.get_blocked_slots(tenant.location_id, calendar_id=calendar.id, **window)
        )
        assert empty == []
        assert models.CalendarDeleteSuccessfulResponseDTO.model_validate(
            await calendars.delete_calendar(calendar.id)
        ).success
        assert models.GroupSuccessfulResponseDTO.model_validate(
            await calendars.delete_group(group["id"])
        ).success
    finally:
        await ghl.close()


async def test_official_python_sdk_get_slots(world: tuple[str, Tenant]) -> None:
    """get_slots on a calendar created through the SDK with opening hours, minus a weekly
    calendar block and a user block, across the 2030 DST change in New York."""
    base, tenant = world
    client_class = type("LocalHighLevel", (highlevel.HighLevel,), {"BASE_URL": base})
    ghl = client_class(private_integration_token=tenant.token)
    calendars = ghl.calendars
    hours = {"openHour": 9, "openMinute": 0, "closeHour": 12, "closeMinute": 0}
    try:
        body = {
            "locationId": tenant.location_id, "name": "Slots", "calendarType": "round_robin",
            "teamMembers": [{"userId": tenant.user_id}],
            "openHours": [{"daysOfTheWeek": [1, 2, 3, 4, 5], "hours": [hours]}],
            "slotDuration": 60, "slotDurationUnit": "mins",
            "slotInterval": 60, "slotIntervalUnit": "mins",
        }  # fmt: skip
        models.CalendarCreateDTO.model_validate(body)
        created = await calendars.create_calendar(body)
        calendar_id = models.CalendarByIdSuccessfulResponseDTO.model_validate(created).calendar.id
        await calendars.create_block_slot({
            "locationId": tenant.location_id, "calendarId": calendar_id, "title": "Standup",
            "startTime": "2030-03-04T09:00:00-05:00", "endTime": "2030-03-04T09:30:00-05:00",
            "rrule": "RRULE:FREQ=WEEKLY;BYDAY=MO",
        })  # fmt: skip
        await calendars.create_block_slot({
            "locationId": tenant.location_id, "assignedUserId": tenant.user_id, "title": "Dentist",
            "startTime": "2030-03-11T10:00:00-04:00", "endTime": "2030-03-11T11:00:00-04:00",
        })  # fmt: skip
        # 2030-03-04T00:00-05:00 .. 2030-03-12T00:00-04:00, as the SDK's float parameters
        answer = await calendars.get_slots(calendar_id, 1898830800000.0, 1899518400000.0)
        days = {day: models.SlotsSchema.model_validate(v).slots for day, v in answer.items()}
        every = ["09", "10", "11"]
        assert {day: [s[11:13] + s[19:] for s in slots] for day, slots in days.items()} == {
            "2030-03-04": ["10-05:00", "11-05:00"],
            **{f"2030-03-0{d}": [f"{h}-05:00" for h in every] for d in (5, 6, 7, 8)},
            "2030-03-11": ["11-04:00"],
        }
        mine = await calendars.get_slots(
            calendar_id, 1899432000000, 1899518400000, timezone="Europe/London",
            user_ids=[tenant.user_id],
        )  # fmt: skip
        assert mine == {"2030-03-11": {"slots": ["2030-03-11T15:00:00+00:00"]}}
        same = await calendars.get_slots(
            calendar_id, 1899432000000, 1899518400000, user_id=tenant.user_id
        )
        assert same == {"2030-03-11": {"slots": ["2030-03-11T11:00:00-04:00"]}}
    finally:
        await ghl.close()
