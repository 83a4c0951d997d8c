"""Route of the changes feed: `GET /calendars/blocked-slots/changes` (an extension).

Without a token: every block of the filter (series masters with their rule, EXDATEs and
changed instances), page by page, then a `nextSyncToken`. With `syncToken`: only what
changed since, created and updated blocks in full and deleted ones as tombstones
(`{"id", "locationId", "deleted": true}`), then the next `nextSyncToken`.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import Field
from starlette.responses import Response

from slotblock.api.dependencies import Caller, Svc
from slotblock.api.openapi import ERRORS, EXTENSION
from slotblock.api.schemas import CalendarEventDTO, ErrorDTO, IdText, event_json
from slotblock.api.schemas import Query as QueryModel
from slotblock.core.instances import instance, master_event
from slotblock.core.model import Block, Targets
from slotblock.service.changes import FeedPage, FeedQuery

router = APIRouter(tags=["Calendar Events"])
TOKEN = Annotated[str | None, Field(min_length=1, max_length=2048)]


class ChangesQuery(QueryModel):
    locationId: IdText
    calendarId: IdText | None = None
    userId: IdText | None = None
    groupId: IdText | None = None
    syncToken: TOKEN = Field(None, description="The nextSyncToken of the last sync.")
    pageToken: TOKEN = Field(None, description="The nextPageToken of the previous page.")
    maxResults: int | None = Field(
        None,
        ge=1,
        description="Most blocks in the page (bounded by the server's page size and byte cap).",
    )


def block_json(block: Block) -> dict[str, Any]:
    """A block in full: its `CalendarEventDTO`, and for a series its changed instances."""
    out = event_json(master_event(block), block.timezone)
    if block.rrule is not None:
        out["overrides"] = [
            event_json(instance(block, o.original_start_ms), block.timezone)
            for o in block.overrides
        ]
    return out


def encoded_block(block: Block) -> bytes:
    """A block as a page writes it (measured by the feed against its byte cap)."""
    return orjson.dumps(block_json(block))


def page_body(page: FeedPage, location_id: str) -> bytes:
    """The page, with its blocks as the feed encoded (and measured) them."""
    events = [*page.encoded]
    events += [
        orjson.dumps({"id": i, "locationId": location_id, "deleted": True}) for i in page.deleted
    ]
    out = b'{"events":[' + b",".join(events) + b"]"
    if page.next_page_token is not None:
        out += b',"nextPageToken":' + orjson.dumps(page.next_page_token)
    if page.next_sync_token is not None:
        out += b',"nextSyncToken":' + orjson.dumps(page.next_sync_token)
    return out + b"}"


@router.get(
    "/calendars/blocked-slots/changes",
    operation_id="get-blocked-slot-changes",
    summary="Get Blocked Slot Changes",
    description=EXTENSION.format(what="operation")
    + " A sync feed, as Google Calendar's: without a token every block (series masters with "
    "`rrule`, EXDATEs and their changed instances in `overrides`) page by page, ending with "
    "`nextSyncToken`; with `syncToken` only the blocks changed since, deleted ones as "
    "tombstones `{id, locationId, deleted: true}`. Follow `nextPageToken` until a "
    "`nextSyncToken` comes. Tokens are opaque and bound to the location and filter (400 "
    "otherwise); one older than the tombstone retention is 410: sync again without a token.",
    responses={
        200: {"model": dict[str, list[CalendarEventDTO] | str]},
        410: {"model": ErrorDTO, "description": "The sync token is past the retention"},
        **ERRORS,
    },
)
async def get_changes(q: Annotated[ChangesQuery, Query()], who: Caller, svc: Svc) -> Response:
    page = await svc.changes.page(
        who,
        FeedQuery(
            location_id=q.locationId,
            targets=Targets(calendar_id=q.calendarId, user_id=q.userId, group_id=q.groupId),
            sync_token=q.syncToken,
            page_token=q.pageToken,
            max_results=q.maxResults,
        ),
        encoded_block,
    )
    return Response(page_body(page, q.locationId), media_type="application/json")
