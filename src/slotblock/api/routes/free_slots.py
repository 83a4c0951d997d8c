"""Route of free slots: `GET /calendars/{calendarId}/free-slots` (official get-slots)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from slotblock.api.availability_schemas import FreeSlotsQuery, FreeSlotsResponse, millis, slots_json
from slotblock.api.dependencies import Caller, Svc, json_response
from slotblock.api.openapi import ERRORS
from slotblock.service.availability import SlotsQuery

router = APIRouter(tags=["Calendars"])


@router.get(
    "/calendars/{calendarId}/free-slots",
    operation_id="get-slots",
    summary="Get Free Slots",
    description=(
        "Get free slots for a calendar between a date range. Optionally a consumer can also "
        "request free slots in a particular timezone and also for a particular user. "
        "Slots come from the calendar's opening hours, durations, buffers and booking limits, "
        "minus the blocked time of the calendar and of its team members; with several members, "
        "a slot is free when one of them is (all of them on a collective calendar)."
    ),
    responses={200: {"model": FreeSlotsResponse}, **ERRORS},
)
async def get_slots(
    calendarId: Annotated[str, Path(description="Calendar Id")],
    q: Annotated[FreeSlotsQuery, Query()],
    who: Caller,
    svc: Svc,
) -> Response:
    users = (*((q.userId,) if q.userId else ()), *(q.userIds or ()))
    days = await svc.availability.free_slots(
        who,
        SlotsQuery(
            calendar_id=calendarId,
            start_ms=millis(q.startDate),
            end_ms=millis(q.endDate),
            timezone=q.timezone,
            user_ids=users,
        ),
    )
    return json_response(slots_json(days))
