"""Request and response shapes of the official contract, and the encoder of events (the
directory records' encoders are pure: core/wire.py).

Block models name their fields in snake_case, as the domain does; one alias generator
(camelCase) gives the wire names, which are also the names in /openapi.json and in error
messages. Request models forbid unknown properties (`property X should not exist`, as the
platform answers). Responses are built as plain dicts and encoded once with orjson; the response
models here only document them in /openapi.json.
"""

from __future__ import annotations

from datetime import date
from operator import attrgetter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)
from pydantic.alias_generators import to_camel

from slotblock.core.isotime import format_ms, parse_iso, zone
from slotblock.core.model import TEXT_FIELDS, Event

CONTACT_ID = ""
APPOINTMENT_STATUS = "confirmed"


EARLIEST_MS = parse_iso("1900-01-01T00:00:00Z")
LATEST_MS = parse_iso("3000-01-01T00:00:00Z")
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


def clean(value: str) -> str:
    """Text a database can store: valid Unicode (no lone surrogates) and no NUL."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


IsoTime = Annotated[int, BeforeValidator(_iso_ms), Field(json_schema_extra={"type": "string"})]
MillisString = Annotated[str, Field(pattern=r"^-?\d{1,15}$", max_length=16)]
Text = Annotated[str, Field(max_length=10_000), AfterValidator(clean)]
IdText = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(clean)]
# Long enough for any rule the server returns (its EXDATEs are capped by max_exceptions).
RuleText = Annotated[str, Field(max_length=1_048_576), AfterValidator(clean)]


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
#
# The official request DTOs of calendars.json (v2 and v3), field by field: types, enums,
# ranges and required fields as the documents give them, unknown properties refused at every
# level. Where the two documents differ the union is accepted (`allowBookingAfterUnit`:
# v3 adds `mins`). Stored values are never re-checked on read: a calendar stored before
# these rules is still answered, and a write that does not send a field keeps it as stored.

CALENDAR_TYPES = (
    "round_robin",
    "event",
    "class_booking",
    "collective",
    "service_booking",
    "personal",
)


def _int64(value: int | float) -> int | float:
    if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        raise ValueError("must be an integer between -2^63 and 2^63-1")
    return value


def _one_of(*allowed: float) -> Any:
    """A number from the official enum, kept as sent (`1` and `1.0` are the same choice)."""
    spelled = ", ".join(f"{a:g}" for a in allowed)

    def check(value: int | float) -> int | float:
        if value not in allowed:
            raise ValueError(f"must be one of the following values: {spelled}")
        return value

    return AfterValidator(check)


def _day_date(value: str) -> str:
    """`<YYYY-MM-DD in local timezone>T00:00:00.000Z`: the date is what free slots read."""
    try:
        date.fromisoformat(value[:10])
    except ValueError as exc:
        raise ValueError("must be a date string like 2023-09-24T00:00:00.000Z") from exc
    return value


# JSON numbers (an int stays an int, `true` is not 1), finite, within what the stores keep.
Number = Annotated[int | float, AfterValidator(_int64)]
Unit = Literal["mins", "hours"]
DayDate = Annotated[str, Field(max_length=64), AfterValidator(_day_date)]


class Hour(Strict):
    openHour: Annotated[Number, Field(ge=0, le=23)]
    openMinute: Annotated[Number, Field(ge=0, le=60)]
    closeHour: Annotated[Number, Field(ge=0, le=23)]
    closeMinute: Annotated[Number, Field(ge=0, le=60)]


class OpenHour(Strict):
    daysOfTheWeek: list[Annotated[Number, Field(ge=0, le=6)]]
    hours: list[Hour]


class Availability(Strict):
    date: DayDate
    hours: list[Hour]
    deleted: bool | None = None


class UpdateAvailability(Availability):
    id: Text | None = None


class LocationConfiguration(Strict):
    kind: Literal[
        "custom",
        "zoom_conference",
        "google_conference",
        "inbound_call",
        "outbound_call",
        "physical",
        "booker",
        "ms_teams_conference",
    ]
    location: Text | None = None


class CalendarNotification(Strict):
    type: Literal["email"] | None = None
    shouldSendToContact: bool
    shouldSendToGuest: bool
    shouldSendToUser: bool
    shouldSendToSelectedUsers: bool
    selectedUsers: Text


class Recurring(Strict):
    freq: Literal["DAILY", "WEEKLY", "MONTHLY"] | None = None
    count: Annotated[Number, Field(le=24)] | None = None
    bookingOption: Literal["skip", "continue", "book_next"] | None = None
    bookingOverlapDefaultStatus: Literal["confirmed", "new"] | None = None


class LookBusyConfiguration(Strict):
    enabled: bool
    LookBusyPercentage: Number


class TeamMember(Strict):
    userId: IdText
    priority: (
        Annotated[Number, _one_of(0, 0.5, 1), Field(json_schema_extra={"enum": [0, 0.5, 1]})] | None
    ) = None
    meetingLocationType: (
        Literal["custom", "zoom", "gmeet", "phone", "address", "teams", "booker"] | None
    ) = None
    meetingLocation: Text | None = None
    isPrimary: bool | None = None
    locationConfigurations: list[LocationConfiguration] | None = None


class CalendarFields(Strict):
    """The official fields slotblock keeps as given (`calendar.extra`), typed as the DTOs
    type them. slotBufferUnit is only in CalendarCreateDTO; an update may send it too."""

    notifications: list[CalendarNotification] | None = None
    eventType: (
        Literal["RoundRobin_OptimizeForAvailability", "RoundRobin_OptimizeForEqualDistribution"]
        | None
    ) = None
    widgetSlug: Text | None = None
    widgetType: Literal["default", "classic"] | None = None
    eventTitle: Text | None = None
    eventColor: Text | None = None
    meetingLocation: Text | None = None
    locationConfigurations: list[LocationConfiguration] | None = None
    slotDuration: Number | None = None
    slotDurationUnit: Unit | None = None
    slotInterval: Number | None = None
    slotIntervalUnit: Unit | None = None
    slotBuffer: Number | None = None
    slotBufferUnit: Unit | None = None
    preBuffer: Number | None = None
    preBufferUnit: Unit | None = None
    appoinmentPerSlot: Number | None = None
    appoinmentPerDay: Number | None = None
    allowBookingAfter: Number | None = None
    allowBookingAfterUnit: Literal["hours", "days", "weeks", "months", "mins"] | None = None
    allowBookingFor: Number | None = None
    allowBookingForUnit: Literal["days", "weeks", "months"] | None = None
    openHours: list[OpenHour] | None = None
    enableRecurring: bool | None = None
    recurring: Recurring | None = None
    formId: Text | None = None
    stickyContact: bool | None = None
    isLivePaymentMode: bool | None = None
    autoConfirm: bool | None = None
    shouldSendAlertEmailsToAssignedMember: bool | None = None
    alertEmail: Text | None = None
    googleInvitationEmails: bool | None = None
    allowReschedule: bool | None = None
    allowCancellation: bool | None = None
    shouldAssignContactToTeamMember: bool | None = None
    shouldSkipAssigningContactForExisting: bool | None = None
    notes: Text | None = None
    pixelId: Text | None = None
    formSubmitType: Literal["RedirectURL", "ThankYouMessage"] | None = None
    formSubmitRedirectURL: Text | None = None
    formSubmitThanksMessage: Text | None = None
    availabilityType: (
        Annotated[Number, _one_of(0, 1), Field(json_schema_extra={"enum": [0, 1]})] | None
    ) = None
    availabilities: list[UpdateAvailability] | None = None
    guestType: Literal["count_only", "collect_detail"] | None = None
    consentLabel: Text | None = None
    calendarCoverImage: Text | None = None
    lookBusyConfig: LookBusyConfiguration | None = None


CALENDAR_FIELDS = tuple(CalendarFields.model_fields)
NonEmptyText = Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(clean)]


class CalendarUpdateBody(CalendarFields):
    """`CalendarUpdateDTO`."""

    name: NonEmptyText | None = None
    description: Text | None = None
    groupId: Annotated[str, Field(max_length=64), AfterValidator(clean)] | None = None
    isActive: bool | None = None
    slug: Text | None = None
    teamMembers: list[TeamMember] | None = None


class CalendarCreateBody(CalendarUpdateBody):
    """`CalendarCreateDTO`."""

    locationId: IdText
    name: NonEmptyText
    calendarType: Literal[CALENDAR_TYPES] | None = None  # type: ignore[valid-type]
    availabilities: list[Availability] | None = None  # type: ignore[assignment]


class GroupUpdateBody(Strict):
    """`GroupUpdateDTO`."""

    name: NonEmptyText
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


class CreatedOrUpdatedBy(BaseModel):
    """The official `CreatedOrUpdatedBy`: a synced block's source (google_calendar…)."""

    source: str


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
    created_by: CreatedOrUpdatedBy | None = None  # a block synced from a connected calendar


class GetCalendarEventsSuccessfulResponseDTO(BaseModel):
    events: list[CalendarEventDTO]


class DeleteEventSuccessfulResponseDto(BaseModel):
    succeeded: bool


class ErrorDTO(BaseModel):
    statusCode: int
    message: str | list[str]
    error: str


class GetLocationByIdSchema(BaseModel):
    """The Locations API's location, with the fields slotblock keeps (the others are optional
    in the official model and left out)."""

    id: str
    name: str
    timezone: str
    companyId: str | None = None


class GetLocationByIdSuccessfulResponseDto(BaseModel):
    location: GetLocationByIdSchema


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
    if block.source is not None:
        out["createdBy"] = {"source": block.source}
    return out
