"""Routes of blocked slots: query, create, edit, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from slotblock.api.answer_size import capped
from slotblock.api.availability_schemas import ZonedBlockedSlotsQuery
from slotblock.api.dependencies import Caller, Svc, json_response
from slotblock.api.event_fragments import Encoders, EventFragments
from slotblock.api.openapi import ERRORS, ETAG_HEADER, IDEMPOTENCY_KEY, IF_MATCH, PRECONDITION
from slotblock.api.schemas import (
    BlockSlotBody,
    CalendarEventDTO,
    DeleteBody,
    DeleteEventSuccessfulResponseDto,
    GetCalendarEventsSuccessfulResponseDTO,
    event_json,
)
from slotblock.core.etags import etag
from slotblock.core.model import TEXT_FIELDS, Principal, Targets
from slotblock.service.blocks import INLINE_EVENTS, BlockInput, BlockService, WindowQuery
from slotblock.service.container import Services
from slotblock.service.idempotency import fingerprint

router = APIRouter(tags=["Calendar Events"])


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
    """The answer of a validated query (the route's, and api/routes/blocked_slots_lean.py's)."""
    query = WindowQuery(
        location_id=q.location_id,
        start_ms=int(q.start_time),
        end_ms=int(q.end_time),
        targets=Targets(calendar_id=q.calendar_id, user_id=q.user_id, group_id=q.group_id),
    )
    zone = q.timeZone or who.location.timezone
    encoders = fragments.encoders
    if encoders is None or encoders[0] is not svc.blocks:
        encoders = fragments.encoders = _encoders(svc.blocks, fragments)
    body = await svc.answers.body(who, query, zone, encoders[1], encoders[2])
    return Response(body, media_type="application/json")


def _encoders(blocks: BlockService, fragments: EventFragments) -> Encoders:
    """A query's two ways to its body over `blocks` (built once, not per request): encoding
    the service's events, capped; joining kept encodings (None where it cannot)."""
    limit = blocks.settings.max_response_bytes
    most = min(INLINE_EVENTS, blocks.settings.max_events)
    return blocks, capped(fragments.body, limit), fragments.assembler(blocks.expansion, most, limit)


@router.post(
    "/calendars/events/block-slots",
    operation_id="create-block-slot",
    summary="Create Block Slot",
    status_code=201,
    responses={201: {"model": CalendarEventDTO, "headers": ETAG_HEADER}, **ERRORS},
)
async def create_block_slot(
    body: BlockSlotBody,
    who: Caller,
    svc: Svc,
    request: Request,
    idempotency_key: Annotated[str | None, IDEMPOTENCY_KEY] = None,
) -> Response:
    timezone = who.location.timezone
    if idempotency_key is not None:
        answer = await svc.idempotent.create(
            who,
            idempotency_key,
            _input(body),
            fingerprint(await request.json()),
            lambda event: event_json(event, timezone),
        )
        return _tagged(json_response(answer.body, answer.status), answer.etag)
    return await create_answer(body, who, svc)


async def create_answer(body: BlockSlotBody, who: Principal, svc: Services) -> Response:
    """The answer of a create without an Idempotency-Key (the route's, and
    api/routes/block_slot_create_lean.py's)."""
    event = await svc.blocks.create(who, _input(body))
    return _tagged(json_response(event_json(event, who.location.timezone), 201), etag(event.block))


def _tagged(response: Response, tag: str) -> Response:
    response.headers["ETag"] = tag
    return response


@router.put(
    "/calendars/events/block-slots/{eventId}",
    operation_id="edit-block-slot",
    summary="Update Block Slot",
    status_code=201,
    responses={201: {"model": CalendarEventDTO, "headers": ETAG_HEADER}, **ERRORS, **PRECONDITION},
)
async def edit_block_slot(
    eventId: str,
    body: BlockSlotBody,
    who: Caller,
    svc: Svc,
    if_match: Annotated[str | None, IF_MATCH] = None,
) -> Response:
    event = await svc.blocks.edit(who, eventId, _input(body), if_match)
    return _tagged(json_response(event_json(event, who.location.timezone), 201), etag(event.block))


@router.delete(
    "/calendars/events/{eventId}",
    operation_id="delete-event",
    summary="Delete Event",
    status_code=201,
    responses={201: {"model": DeleteEventSuccessfulResponseDto}, **ERRORS, **PRECONDITION},
)
async def delete_event(
    eventId: str,
    who: Caller,
    svc: Svc,
    body: Annotated[DeleteBody | None, Body()] = None,
    if_match: Annotated[str | None, IF_MATCH] = None,
) -> Response:
    """The body may be absent or `{}` (the spec requires one); anything else is refused."""
    del body
    await svc.blocks.delete(who, eventId, if_match)
    return json_response({"succeeded": True}, 201)
