"""Routes of iCalendar subscription feeds (extensions): a location's feeds at
`/calendars/feeds` (create, list, revoke), and the feed itself at
`GET /calendars/ical/{feedToken}.ics`, whose address is its only credential."""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from slotblock.api import rate_limits
from slotblock.api.dependencies import Caller, Svc, json_response
from slotblock.api.openapi import ERRORS, EXTENSION
from slotblock.api.schemas import ErrorDTO, IdText
from slotblock.core.errors import InvalidInput, NotFound
from slotblock.core.etags import if_none_match
from slotblock.core.isotime import from_ms
from slotblock.core.model import Feed, Location, Principal, TargetKind
from slotblock.core.tokens import FEED_PATH_PREFIX
from slotblock.service.feeds import FeedInput, FeedSource

router = APIRouter(tags=["Calendar Events"])
OWN = EXTENSION.format(what="operation")
CALENDAR_TYPE = "text/calendar; charset=utf-8"
# Calendar apps may keep the document, and must ask again (with its validators) each time.
CACHE_CONTROL = "private, no-cache"
_GMT = ZoneInfo("UTC")
_TARGET_FIELDS: tuple[tuple[TargetKind, str], ...] = (
    ("calendar", "calendarId"),
    ("user", "userId"),
    ("group", "groupId"),
)


class FeedBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    locationId: IdText
    calendarId: IdText | None = Field(None, description="Publish this calendar's blocks.")
    userId: IdText | None = Field(None, description="Publish this user's blocks.")
    groupId: IdText | None = Field(None, description="Publish the blocks of the group's calendars.")
    busyOnly: bool = Field(False, description='Every event says "Busy" and nothing else.')
    includeConnected: bool = Field(
        False, description="Include blocks synced from connected calendars (createdBy.source)."
    )
    name: str = Field("", max_length=200, description="The calendar's name in the app.")

    def feed_input(self) -> FeedInput:
        given = [(kind, getattr(self, name)) for kind, name in _TARGET_FIELDS]
        named = [(kind, value) for kind, value in given if value is not None]
        if len(named) != 1:
            raise InvalidInput("Exactly one of calendarId, userId or groupId is required")
        kind, target_id = named[0]
        return FeedInput(
            location_id=self.locationId,
            target_kind=kind,
            target_id=target_id,
            busy_only=self.busyOnly,
            include_connected=self.includeConnected,
            name=self.name,
        )


def feed_path(token: str) -> str:
    return f"{FEED_PATH_PREFIX}{token}.ics"


def feed_json(feed: Feed) -> dict[str, Any]:
    target = dict(_TARGET_FIELDS)[feed.target_kind]
    return {
        "id": feed.id,
        "locationId": feed.location_id,
        target: feed.target_id,
        "busyOnly": feed.busy_only,
        "includeConnected": feed.include_connected,
        "name": feed.name,
        "dateAdded": feed.created_ms,
        "revoked": feed.revoked_ms is not None,
    }


@router.post(
    "/calendars/feeds",
    operation_id="create-calendar-feed",
    summary="Create an iCalendar feed",
    description=f"{OWN} Publishes the blocked time of one calendar, user or group at a secret "
    "address, `GET /calendars/ical/{feedToken}.ics`, for calendar apps to subscribe to. The "
    "answer's `token` and `path` are shown this once (only a hash is stored). Scope "
    "`calendars.write`.",
    status_code=201,
    responses=ERRORS,
)
async def create_feed(body: FeedBody, who: Caller, svc: Svc) -> Response:
    token, feed = await svc.feeds.create_own(who, body.feed_input())
    return json_response({**feed_json(feed), "token": token, "path": feed_path(token)}, 201)


@router.get(
    "/calendars/feeds",
    operation_id="get-calendar-feeds",
    summary="List iCalendar feeds",
    description=f"{OWN} The location's feeds, revoked ones included (never their tokens). "
    "Scope `calendars.readonly` or `calendars.write`.",
    responses=ERRORS,
)
async def list_feeds(
    locationId: Annotated[str, Query(min_length=1, max_length=64)], who: Caller, svc: Svc
) -> Response:
    feeds = await svc.feeds.list_own(who, locationId)
    return json_response({"feeds": [feed_json(f) for f in feeds]})


@router.delete(
    "/calendars/feeds/{feedId}",
    operation_id="delete-calendar-feed",
    summary="Revoke an iCalendar feed",
    description=f"{OWN} Its address answers 404 from now on. Scope `calendars.write`.",
    responses=ERRORS,
)
async def revoke_feed(feedId: str, who: Caller, svc: Svc) -> Response:
    await svc.feeds.revoke_own(who, feedId)
    return json_response({"succeeded": True})


@router.get(
    FEED_PATH_PREFIX + "{feedToken}.ics",
    operation_id="get-calendar-feed-ics",
    summary="iCalendar feed",
    description=f"{OWN} The blocked time of the feed's target as an iCalendar document "
    "(RFC 5545): series with their rules, changed instances as RECURRENCE-ID overrides. No "
    "headers needed: the address is the credential. Strong `ETag` and `Last-Modified`; "
    "`If-None-Match` / `If-Modified-Since` answer 304 while the document is unchanged.",
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The iCalendar document"},
        304: {"description": "Not modified"},
        404: {"model": ErrorDTO, "description": "No live feed has this address"},
        422: {"model": ErrorDTO, "description": "The feed is past the size caps"},
        429: {"model": ErrorDTO, "description": "Rate limited"},
    },
)
async def get_feed_document(
    feedToken: str,
    request: Request,
    svc: Svc,
    if_none: Annotated[str | None, Header(alias="If-None-Match")] = None,
    if_modified: Annotated[str | None, Header(alias="If-Modified-Since")] = None,
) -> Response:
    found: list[FeedSource] = []

    async def authenticate() -> Principal:
        source = await svc.feeds.find(feedToken)
        found.append(source)
        location = Location(source.feed.location_id, "", source.location_timezone)
        return Principal(token_id=f"feed:{source.feed.id}", location=location, scopes=frozenset())

    await rate_limits.limited(request, authenticate, failures=(NotFound,))
    answer = await svc.feeds.document(found[0])
    modified = format_datetime(
        from_ms(answer.last_modified_ms, _GMT).replace(tzinfo=UTC), usegmt=True
    )
    headers = {"ETag": answer.etag, "Last-Modified": modified, "Cache-Control": CACHE_CONTROL}
    if _not_modified(if_none, if_modified, answer.etag, answer.last_modified_ms):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type=CALENDAR_TYPE, headers=headers)


def _not_modified(if_none: str | None, if_modified: str | None, tag: str, modified_ms: int) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when sent; else If-Modified-Since, when it
    is a date at or after the last modification (to the second)."""
    if if_none is not None:
        return if_none_match(if_none, tag)
    if if_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    if since.tzinfo is None:
        return False
    return modified_ms // 1000 <= int(since.timestamp())
