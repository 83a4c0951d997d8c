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
