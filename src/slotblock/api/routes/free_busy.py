"""Route of busy-only free/busy: `GET /calendars/free-busy` (an extension)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from slotblock.api.availability_schemas import (
    FreeBusyQuery,
    FreeBusyResponse,
    free_busy_json,
)
from slotblock.api.dependencies import Caller, Svc, json_response
from slotblock.api.openapi import ERRORS, EXTENSION
from slotblock.service import availability

router = APIRouter(tags=["Calendar Events"])


@router.get(
    "/calendars/free-busy",
    operation_id="get-free-busy",
    summary="Get Free/Busy",
    description=EXTENSION.format(what="operation")
    + " For each calendarId, userId and groupId asked (each repeatable), the busy intervals "
    "in [startTime, endTime): blocks and instances of series as get-blocked-slots finds them, "
    "overlapping and touching ones merged, clipped to the window, without titles, notes, "
    "addresses or ids. Scope `calendars/events.freebusy` (or `calendars/events.readonly`).",
    responses={200: {"model": FreeBusyResponse}, **ERRORS},
)
async def get_free_busy(q: Annotated[FreeBusyQuery, Query()], who: Caller, svc: Svc) -> Response:
    answer = await svc.availability.free_busy(
        who,
        availability.FreeBusyQuery(
            location_id=q.locationId,
            start_ms=int(q.startTime),
            end_ms=int(q.endTime),
            calendar_ids=tuple(q.calendarId),
            user_ids=tuple(q.userId),
            group_ids=tuple(q.groupId),
        ),
    )
    # up to SLOTBLOCK_MAX_EVENTS intervals to write out: off the event loop
    zone = q.timeZone or who.location.timezone
    return json_response(await svc.blocks.cpu.run(free_busy_json, answer, zone))
