"""Routes of blocked slots: query, create, edit, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from slotblock.api.auth import Caller, Svc, json_response
from slotblock.api.availability_schemas import ZonedBlockedSlotsQuery
from slotblock.api.event_fragments import EventFragments
from slotblock.api.schemas import (
    BlockSlotBody,
    CalendarEventDTO,
    DeleteBody,
    DeleteEventSuccessfulResponseDto,
    ErrorDTO,
    GetCalendarEventsSuccessfulResponseDTO,
    event_json,
)
from slotblock.model import TEXT_FIELDS, Principal
from slotblock.service.blocks import BlockInput, WindowQuery
from slotblock.service.container import Services

router = APIRouter(tags=["Calendar Events"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorDTO} for code in (400, 401, 403, 404, 422)
}


def _input(body: BlockSlotBody) -> BlockInput:
    given = body.model_dump(exclude_none=True, by_alias=False)
    texts = {name: given.pop(name) for name in TEXT_FIELDS if name in given}
    return BlockInput(**given, texts=texts)


@router.get(
    "/calendars/blocked-slots",
    operation_id="get-blocked-slots",
    summary="Get Blocked Slots",
    responses={200: {"model": GetCalendarEventsSuccessfulResponseDTO}, **ERRORS},
)
async def get_blocked_slots(
    q: Annotated[ZonedBlockedSlotsQuery, Query()], who: Caller, svc: Svc, request: Request
) -> Response:
    return await blocked_slots_answer(q, who, svc, request.app.state.event_fragments)


async def blocked_slots_answer(
    q: ZonedBlockedSlotsQuery, who: Principal, svc: Services, fragments: EventFragments
) -> Response:
    """The answer of a validated query (the route's, and api/lean_blocked_slots.py's)."""
    query = WindowQuery(
        location_id=q.location_id,
        start_ms=int(q.start_time),
        end_ms=int(q.end_time),
        calendar_id=q.calendar_id,
        user_id=q.user_id,
        group_id=q.group_id,
    )
    zone = q.timeZone or who.location.timezone
    body = await svc.fast_query.body(who, query, zone, fragments.body)
    return Response(body, media_type="application/json")


@router.post(
    "/calendars/events/block-slots",
    operation_id="create-block-slot",
    summary="Create Block Slot",
    status_code=201,
    responses={201: {"model": CalendarEventDTO}, **ERRORS},
)
async def create_block_slot(body: BlockSlotBody, who: Caller, svc: Svc) -> Response:
    event = await svc.blocks.create(who, _input(body))
    return json_response(event_json(event, who.location.timezone), 201)


@router.put(
    "/calendars/events/block-slots/{eventId}",
    operation_id="edit-block-slot",
    summary="Update Block Slot",
    status_code=201,
    responses={201: {"model": CalendarEventDTO}, **ERRORS},
)
async def edit_block_slot(eventId: str, body: BlockSlotBody, who: Caller, svc: Svc) -> Response:
    event = await svc.blocks.edit(who, eventId, _input(body))
    return json_response(event_json(event, who.location.timezone), 201)


@router.delete(
    "/calendars/events/{eventId}",
    operation_id="delete-event",
    summary="Delete Event",
    status_code=201,
    responses={201: {"model": DeleteEventSuccessfulResponseDto}, **ERRORS},
)
async def delete_event(
    eventId: str,
    who: Caller,
    svc: Svc,
    body: Annotated[DeleteBody | None, Body()] = None,
) -> Response:
    """The body may be absent or `{}` (the spec requires one); anything else is refused."""
    del body
    await svc.blocks.delete(who, eventId)
    return json_response({"succeeded": True}, 201)
