"""Routes of calendars and calendar groups, the targets blocked slots filter by."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from slotblock.api.dependencies import Caller, Svc, json_response
from slotblock.api.openapi import ERRORS
from slotblock.api.schemas import (
    CalendarCreateBody,
    CalendarsQuery,
    CalendarUpdateBody,
    GroupCreateBody,
    GroupUpdateBody,
    LocationQuery,
)
from slotblock.core.wire import calendar_json, group_json
from slotblock.service.calendars import CalendarInput, GroupInput

router = APIRouter()
_STORED = {
    "name",
    "description",
    "groupId",
    "isActive",
    "calendarType",
    "slug",
    "teamMembers",
    "locationId",
}


def _calendar_input(body: CalendarUpdateBody) -> CalendarInput:
    given = body.model_dump(exclude_unset=True)
    members = given.get("teamMembers")
    return CalendarInput(
        name=body.name,
        description=body.description,
        group_id=body.groupId,
        is_active=body.isActive,
        calendar_type=given.get("calendarType"),
        slug=body.slug,
        team_members=None
        if members is None
        else tuple({k: v for k, v in m.items() if v is not None} for m in members),
        extra={k: v for k, v in given.items() if k not in _STORED},
    )


def _group_input(body: GroupUpdateBody) -> GroupInput:
    return GroupInput(
        name=body.name,
        description=body.description,
        slug=body.slug,
        is_active=getattr(body, "isActive", None),
    )


@router.get("/calendars/groups", operation_id="get-groups", tags=["Groups"], responses=ERRORS)
async def get_groups(q: Annotated[LocationQuery, Query()], who: Caller, svc: Svc) -> Response:
    groups = await svc.calendars.list_groups(who, q.locationId)
    return json_response({"groups": [group_json(g) for g in groups]})


@router.post(
    "/calendars/groups",
    operation_id="create-calendar-group",
    tags=["Groups"],
    status_code=201,
    responses=ERRORS,
)
async def create_group(body: GroupCreateBody, who: Caller, svc: Svc) -> Response:
    group = await svc.calendars.create_group(who, body.locationId, _group_input(body))
    return json_response({"group": group_json(group)}, 201)


@router.put(
    "/calendars/groups/{groupId}", operation_id="edit-group", tags=["Groups"], responses=ERRORS
)
async def edit_group(groupId: str, body: GroupUpdateBody, who: Caller, svc: Svc) -> Response:
    group = await svc.calendars.update_group(who, groupId, _group_input(body))
    return json_response({"group": group_json(group)})


@router.delete(
    "/calendars/groups/{groupId}", operation_id="delete-group", tags=["Groups"], responses=ERRORS
)
async def delete_group(groupId: str, who: Caller, svc: Svc) -> Response:
    await svc.calendars.delete_group(who, groupId)
    return json_response({"success": True})


@router.get("/calendars/", operation_id="get-calendars", tags=["Calendars"], responses=ERRORS)
@router.get("/calendars", include_in_schema=False)
async def get_calendars(q: Annotated[CalendarsQuery, Query()], who: Caller, svc: Svc) -> Response:
    calendars = await svc.calendars.list_calendars(who, q.locationId, q.groupId)
    return json_response({"calendars": [calendar_json(c) for c in calendars]})


@router.post("/calendars/", operation_id="create-calendar", tags=["Calendars"], responses=ERRORS)
@router.post("/calendars", include_in_schema=False)
async def create_calendar(body: CalendarCreateBody, who: Caller, svc: Svc) -> Response:
    calendar = await svc.calendars.create_calendar(who, body.locationId, _calendar_input(body))
    return json_response({"calendar": calendar_json(calendar)})


@router.get(
    "/calendars/{calendarId}", operation_id="get-calendar", tags=["Calendars"], responses=ERRORS
)
async def get_calendar(calendarId: str, who: Caller, svc: Svc) -> Response:
    calendar = await svc.calendars.get_calendar(who, calendarId)
    return json_response({"calendar": calendar_json(calendar)})


@router.put(
    "/calendars/{calendarId}", operation_id="update-calendar", tags=["Calendars"], responses=ERRORS
)
async def update_calendar(
    calendarId: str,
    body: CalendarUpdateBody,
    who: Caller,
    svc: Svc,
) -> Response:
    calendar = await svc.calendars.update_calendar(who, calendarId, _calendar_input(body))
    return json_response({"calendar": calendar_json(calendar)})


@router.delete(
    "/calendars/{calendarId}", operation_id="delete-calendar", tags=["Calendars"], responses=ERRORS
)
async def delete_calendar(calendarId: str, who: Caller, svc: Svc) -> Response:
    await svc.calendars.delete_calendar(who, calendarId)
    return json_response({"success": True})
