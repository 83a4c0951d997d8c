"""Route of one block by id: `GET /calendars/events/block-slots/{eventId}` (an extension)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from slotblock.api.availability_schemas import ZoneQuery
from slotblock.api.dependencies import Caller, Svc, json_response
from slotblock.api.openapi import ERRORS, ETAG_HEADER, EXTENSION
from slotblock.api.schemas import CalendarEventDTO, event_json
from slotblock.core.etags import etag, if_none_match

EVENT_ID = "Event id, or instance id `<masterEventId>_<originalStartMillis>_<durationSeconds>`"

router = APIRouter(tags=["Calendar Events"])


@router.get(
    "/calendars/events/block-slots/{eventId}",
    operation_id="get-block-slot",
    summary="Get Block Slot",
    description=EXTENSION.format(what="operation")
    + f" One block, series master, or instance. eventId: {EVENT_ID}. A deleted or "
    "non-existent occurrence is 404.",
    responses={
        200: {"model": CalendarEventDTO, "headers": ETAG_HEADER},
        304: {"description": "If-None-Match names the current ETag: not modified"},
        **ERRORS,
    },
)
async def get_block_slot(
    eventId: str,
    q: Annotated[ZoneQuery, Query()],
    who: Caller,
    svc: Svc,
    if_none: Annotated[
        str | None,
        Header(alias="If-None-Match", description="**Extension**: 304 while the ETag is this."),
    ] = None,
) -> Response:
    event = await svc.blocks.get(who, eventId)
    tag = etag(event.block)
    if if_none_match(if_none, tag):
        return Response(status_code=304, headers={"ETag": tag})
    response = json_response(event_json(event, q.timeZone or who.location.timezone))
    response.headers["ETag"] = tag
    return response
