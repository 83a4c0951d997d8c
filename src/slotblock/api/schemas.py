"""Request and response shapes of the official contract, and the encoder of events (the
directory records' encoders are pure: core/wire.py).

Block models name their fields in snake_case, as the domain does; one alias generator
(camelCase) gives the wire names, which are also the names in /openapi.json and in error
messages. Request models forbid unknown properties (`property X should not exist`, as the
platform answers). Responses are built as plain dicts and encoded once with orjson; the response
models here only document them in /openapi.json.
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
)
from pydantic.alias_generators import to_camel

from slotblock.core.isotime import format_ms, parse_iso, zone
from slotblock.core.model import TEXT_FIELDS, Event

CONTACT_ID = ""
APPOINTMENT_STATUS = "confirmed"


EARLIEST_MS = parse_iso("1900-01-01T00:00:00Z")
LATEST_MS = parse_iso("3000-01-01T00:00:00Z")
MAX_DEPTH = 16
INT64 = (-(2**63), 2**63 - 1)  # what the stores and the encoder round-trip exactly


def _iso_ms(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    try:
        ms = parse_iso(value)
    except ValueError as exc:
        raise ValueError("must be a valid ISO 8601 date string with an offset") from exc
    if not EARLIEST_MS <= ms < LATEST_MS:
        raise ValueError("must be between 1900-01-01 and 2999-12-31")
    return ms


def _clean(value: str) -> str:
    """Text a database can store: valid Unicode (no lone surrogates) and no NUL."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


def _plain(value: Any) -> Any:
    return _plain_json(value, 0)


def _plain_json(value: Any, depth: int) -> Any:
    """A passed-through value must be JSON a database can store: finite numbers, bounded
    nesting (NaN/Infinity are not JSON, and PostgreSQL refuses them)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        raise ValueError("must be an integer between -2^63 and 2^63-1")
    if isinstance(value, str):
        _clean(value)
    if isinstance(value, dict):
        for key, item in value.items():
            _clean(key)
            _plain_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _plain_json(item, depth + 1)
    return value


PlainJSON = Annotated[Any, AfterValidator(_plain)]
IsoTime = Annotated[int, BeforeValidator(_iso_ms), Field(json_schema_extra={"type": "string"})]
MillisString = Annotated[str, Field(pattern=r"^-?\d{1,15}$", max_length=16)]
Text = Annotated[str, Field(max_length=10_000), AfterValidator(_clean)]
IdText = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_clean)]
# Long enough for any rule the server returns (its EXDATEs are capped by max_exceptions).
RuleText = Annotated[str, Field(max_length=1_048_576), AfterValidator(_clean)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Query(BaseModel):
    """Query strings: every value arrives as text, unknown names are refused."""

    model_config = ConfigDict(extra="forbid")


# Wire names are the camelCase of the field names (`assigned_user_id` → `assignedUserId`).
CAMEL = ConfigDict(alias_generator=to_camel, serialize_by_alias=True)


class BlockedSlotsQuery(Query):
    """`GET /calendars/blocked-slots` query."""

    model_config = CAMEL

    location_id: IdText
    user_id: IdText | None = None
    calendar_id: IdText | None = None
    group_id: IdText | None = None
    start_time: MillisString
    end_time: MillisString


class BlockSlotBody(Strict):
    """`BlockSlotCreateRequestDTO` / `BlockSlotEditRequestDTO`, with slotblock's optional
    extensions `rrule`, `description`, `notes` and `address`."""

    model_config = CAMEL

    location_id: IdText
    calendar_id: IdText | None = None
    assigned_user_id: IdText | None = None
    title: Text | None = None
    start_ms: IsoTime | None = Field(None, alias="startTime")
    end_ms: IsoTime | None = Field(None, alias="endTime")
    rrule: RuleText | list[RuleText] | None = None
    description: Text | None = None
    notes: Text | None = None
    address: Text | None = None


class DeleteBody(Strict):
    """`DeleteAppointmentSchema`: an empty object."""


# --- calendars and groups ----------------------------------------------------------------

CALENDAR_TYPES = (
    "round_robin",
    "event",
    "class_booking",
    "collective",
    "service_booking",
    "personal",
)

# The official CalendarCreateDTO / CalendarUpdateDTO properties slotblock keeps as given.
CALENDAR_PASSTHROUGH = [
    "notifications",
    "eventType",
    "widgetSlug",
    "widgetType",
    "eventTitle",
    "eventColor",
    "meetingLocation",
    "locationConfigurations",
    "slotDuration",
    "slotDurationUnit",
    "slotInterval",
    "slotIntervalUnit",
    "slotBuffer",
    "slotBufferUnit",
    "preBuffer",
    "preBufferUnit",
    "appoinmentPerSlot",
    "appoinmentPerDay",
    "allowBookingAfter",
    "allowBookingAfterUnit",
    "allowBookingFor",
    "allowBookingForUnit",
    "openHours",
    "enableRecurring",
    "recurring",
    "formId",
    "stickyContact",
    "isLivePaymentMode",
    "autoConfirm",
    "shouldSendAlertEmailsToAssignedMember",
    "alertEmail",
    "googleInvitationEmails",
    "allowReschedule",
    "allowCancellation",
    "shouldAssignContactToTeamMember",
    "shouldSkipAssigningContactForExisting",
    "notes",
    "pixelId",
    "formSubmitType",
    "formSubmitRedirectURL",
    "formSubmitThanksMessage",
    "availabilityType",
    "availabilities",
    "guestType",
    "consentLabel",
    "calendarCoverImage",
    "lookBusyConfig",
]


class TeamMember(Strict):
    userId: IdText
    priority: float | None = None
    meetingLocationType: Text | None = None
    meetingLocation: Text | None = None
    isPrimary: bool | None = None
    locationConfigurations: list[PlainJSON] | None = None


_Passthrough: Any = create_model(
    "CalendarPassthrough",
    __config__=ConfigDict(extra="forbid", strict=True, allow_inf_nan=False),
    **{name: (PlainJSON | None, None) for name in CALENDAR_PASSTHROUGH},  # type: ignore[call-overload]
)


class CalendarUpdateBody(_Passthrough):
    """`CalendarUpdateDTO`."""

    name: Text | None = None
    description: Text | None = None
    groupId: Annotated[str, Field(max_length=64), AfterValidator(_clean)] | None = None
    isActive: bool | None = None
    slug: Text | None = None
    teamMembers: list[TeamMember] | None = None


class CalendarCreateBody(CalendarUpdateBody):
    """`CalendarCreateDTO`."""

    locationId: IdText
    name: Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(_clean)]
    calendarType: Literal[CALENDAR_TYPES] | None = None  # type: ignore[valid-type]


class GroupUpdateBody(Strict):
    """`GroupUpdateDTO`."""

    name: Text
    description: Text
    slug: Text


class GroupCreateBody(GroupUpdateBody):
    """`GroupCreateDTO`."""

    locationId: IdText
    isActive: bool | None = None


class CalendarsQuery(Query):
    locationId: IdText
    groupId: IdText | None = None
    showDrafted: bool | None = None


class LocationQuery(Query):
    locationId: IdText


# --- response documentation --------------------------------------------------------------


class CalendarEventDTO(BaseModel):
    """What `event_json` sends (a test validates real responses against it, extra keys
    forbidden)."""

    model_config = CAMEL

    id: str
    title: str
    calendar_id: str
    location_id: str
    contact_id: str
    group_id: str
    appointment_status: str
    assigned_user_id: str
    users: list[str]
    notes: str
    description: str
    address: str
    is_recurring: bool
    rrule: str | None = None
    deleted: bool
    start_time: str
    end_time: str
    date_added: str
    date_updated: str
    assigned_resources: list[str]
    master_event_id: str | None = None
    original_start_time: str | None = None


class GetCalendarEventsSuccessfulResponseDTO(BaseModel):
    events: list[CalendarEventDTO]


class DeleteEventSuccessfulResponseDto(BaseModel):
    succeeded: bool


class ErrorDTO(BaseModel):
    statusCode: int
    message: str | list[str]
    error: str


# --- encoders ----------------------------------------------------------------------------


_TEXT_KEYS = tuple((to_camel(name), name) for name in TEXT_FIELDS)
_TEXT_WIRE = tuple(key for key, _ in _TEXT_KEYS)
_block_texts = attrgetter(*TEXT_FIELDS)


def event_json(event: Event, timezone: str) -> dict[str, Any]:
    """One `CalendarEventDTO` (a block, a series, or one instance of a series)."""
    block = event.block
    tz = zone(timezone)
    user = block.assigned_user_id or ""
    out: dict[str, Any] = {
        "id": event.id,
        "calendarId": block.calendar_id or "",
        "locationId": block.location_id,
        "contactId": CONTACT_ID,
        "groupId": block.group_id or "",
        "appointmentStatus": APPOINTMENT_STATUS,
        "assignedUserId": user,
        "users": [user] if user else [],
        "isRecurring": block.rrule is not None,
        "deleted": False,
        "startTime": format_ms(event.start_ms, tz),
        "endTime": format_ms(event.end_ms, tz),
        "dateAdded": format_ms(block.created_ms, tz),
        "dateUpdated": format_ms(block.updated_ms, tz),
        "assignedResources": [],
    }
    if event.fields:  # an edited instance: its own texts over the series'
        out.update((key, event.text(name)) for key, name in _TEXT_KEYS)
    else:
        out.update(zip(_TEXT_WIRE, _block_texts(block), strict=True))
    if block.rrule is not None:
        out["rrule"] = block.rrule
    if event.original_start_ms is not None:
        out["masterEventId"] = block.id
        out["originalStartTime"] = format_ms(event.original_start_ms, tz)
    return out
