"""Route of one block by id: `GET /calendars/events/block-slots/{eventId}` (an extension)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from slotblock.api.auth import Caller, Svc, json_response
from slotblock.api.availability_schemas import EXTENSION, ZoneQuery
from slotblock.api.blocked_slots import ERRORS
from slotblock.api.schemas import CalendarEventDTO, event_json

EVENT_ID = "Event id, or instance id `<masterEventId>_<originalStartMillis>_<durationSeconds>`"

router = APIRouter(tags=["Calendar Events"])


@router.get(
    "/calendars/events/block-slots/{eventId}",
    operation_id="get-block-slot",
    summary="Get Block Slot",
    description=EXTENSION.format(what="operation")
    + f" One block, series master, or instance. eventId: {EVENT_ID}. A deleted or "
    "non-existent occurrence is 404.",
    responses={200: {"model": CalendarEventDTO}, **ERRORS},
)
async def get_block_slot(
    eventId: str, q: Annotated[ZoneQuery, Query()], who: Caller, svc: Svc
) -> Response:
    event = await svc.blocks.get(who, eventId)
    return json_response(event_json(event, q.timeZone or who.location.timezone))
