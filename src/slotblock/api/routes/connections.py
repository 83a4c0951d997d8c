"""Connected calendars of a location's users (`/calendars/connections`, an extension): a
user's own calendar (an iCalendar address, or a CalDAV collection) whose busy events
become that user's blocked slots, with `createdBy.source`. Reads need calendars.readonly,
writes calendars.write. A password or token is accepted, sealed, and never returned; the
URL too is never returned (it may be the calendar's only credential): a connection shows
`scheme://host[:port]/…` (core/connection_address.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from slotblock.api.dependencies import Caller, Svc, json_response
from slotblock.api.openapi import ERRORS, EXTENSION
from slotblock.api.schemas import IdText
from slotblock.core.model import Connection
from slotblock.service.connections import ConnectionInput

router = APIRouter(tags=["Calendars"])
OWN = EXTENSION.format(what="operation")
Source = Literal["google_calendar", "outlook_calendar", "icloud_calendar", "caldav", "ical"]


class ConnectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    locationId: IdText
    userId: IdText
    url: str = Field(
        min_length=1,
        max_length=2048,
        description=(
            "An iCalendar address or a CalDAV collection; never shown back (a connection "
            "shows scheme://host[:port]/…)."
        ),
    )
    type: Literal["ical", "caldav"] | None = Field(
        None, description="ical or caldav (default: caldav when a password is given)."
    )
    source: Source | None = Field(None, description="createdBy.source (default from the URL).")
    busyOnly: bool = Field(False, description='Titles "Busy"; no description or address.')
    username: str | None = Field(None, max_length=256)
    password: str | None = Field(
        None, max_length=4096, description="A password or token: sealed, never returned."
    )


def connection_json(c: Connection) -> dict[str, Any]:
    return {
        "id": c.id,
        "locationId": c.location_id,
        "userId": c.user_id,
        "url": c.url,
        "type": c.kind,
        "source": c.source,
        "busyOnly": c.busy_only,
        "username": c.username,
        "hasPassword": c.has_secret,
        "dateAdded": c.created_ms,
        "lastSuccess": c.last_success_ms,
        "lastError": c.last_error,
        "lastErrorAt": c.last_error_ms,
        "failures": c.failures,
        "nextAttempt": c.next_sync_ms,
        "events": c.event_count,
        "warnings": list(c.warnings),
    }


@router.post(
    "/calendars/connections",
    operation_id="create-calendar-connection",
    summary="Connect a user's own calendar",
    description=OWN,
    status_code=201,
    responses=ERRORS,
)
async def create(body: ConnectionBody, who: Caller, svc: Svc) -> Response:
    given = ConnectionInput(
        location_id=body.locationId,
        user_id=body.userId,
        url=body.url,
        kind=body.type,
        source=body.source,
        busy_only=body.busyOnly,
        username=body.username,
        password=body.password,
    )
    connection = await svc.connections.create(who, given)
    return json_response(connection_json(connection), 201)


@router.get(
    "/calendars/connections",
    operation_id="get-calendar-connections",
    summary="List connected calendars",
    description=OWN,
    responses=ERRORS,
)
async def list_all(
    locationId: Annotated[str, Query(min_length=1, max_length=64)], who: Caller, svc: Svc
) -> Response:
    found = await svc.connections.list_own(who, locationId)
    return json_response({"connections": [connection_json(c) for c in found]})


@router.get(
    "/calendars/connections/{connectionId}",
    operation_id="get-calendar-connection",
    summary="Read a connected calendar and its sync state",
    description=OWN,
    responses=ERRORS,
)
async def read(connectionId: str, who: Caller, svc: Svc) -> Response:
    return json_response(connection_json(await svc.connections.get(who, connectionId)))


@router.delete(
    "/calendars/connections/{connectionId}",
    operation_id="delete-calendar-connection",
    summary="Disconnect a calendar (its synced blocks are deleted)",
    description=OWN,
    responses=ERRORS,
)
async def delete(connectionId: str, who: Caller, svc: Svc) -> Response:
    await svc.connections.delete(who, connectionId)
    return json_response({"succeeded": True})


@router.post(
    "/calendars/connections/{connectionId}/sync",
    operation_id="sync-calendar-connection",
    summary="Sync a connected calendar now",
    description=OWN,
    responses=ERRORS,
)
async def sync_now(connectionId: str, who: Caller, svc: Svc) -> Response:
    return json_response(connection_json(await svc.connections.sync_now(who, connectionId)))
