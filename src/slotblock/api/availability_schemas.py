"""Request and response shapes of the availability reads: the official `get-slots`, and
slotblock's extensions (one block by id, free/busy, the caller's `timeZone`).

Query models forbid unknown names, as the other official queries do. A time zone must be an
IANA name the server knows; an unknown one is a 400 that names it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel

from slotblock.api.openapi import EXTENSION
from slotblock.api.schemas import BlockedSlotsQuery, IdText, MillisString, Query
from slotblock.core.isotime import format_ms, zone
from slotblock.service.availability import FreeBusy


def _known_zone(value: str) -> str:
    try:
        zone(value)
    except ValueError as exc:
        raise ValueError(f"must be an IANA time zone; {value[:64]!r} is not one") from exc
    return value


def _zone_field(description: str) -> Any:
    return Field(max_length=64, description=description, examples=["America/Chihuahua"])


ZoneName = Annotated[str, AfterValidator(_known_zone)]
TIME_ZONE = (
    EXTENSION.format(what="parameter")
    + " The IANA time zone the times are written in; the location's when absent."
)
Millis = Annotated[
    str,
    Field(
        pattern=r"^-?\d{1,15}(\.\d{1,6})?$",
        max_length=24,
        json_schema_extra={"type": "number", "example": 1548898600000},
    ),
]


def millis(text: str) -> int:
    """Epoch milliseconds of a decimal number (a fraction, as JSON numbers may carry, is cut)."""
    return int(text.partition(".")[0])


class ZonedBlockedSlotsQuery(BlockedSlotsQuery):
    """`GET /calendars/blocked-slots` query, with the `timeZone` extension.

    Frozen: api/routes/blocked_slots_lean.py keeps a validated query by its raw query string
    and hands the same object to every request that sends those bytes again."""

    model_config = ConfigDict(frozen=True)

    timeZone: Annotated[ZoneName | None, _zone_field(TIME_ZONE)] = None


class FreeSlotsQuery(Query):
    """`GET /calendars/{calendarId}/free-slots` query (get-slots)."""

    # The official descriptions; both are epoch milliseconds, at most 31 days apart.
    startDate: Annotated[
        Millis,
        Field(description="Start Date (**⚠️ Important:** Date range cannot be more than 31 days)"),
    ]
    endDate: Annotated[
        Millis,
        Field(description="End Date (**⚠️ Important:** Date range cannot be more than 31 days)"),
    ]
    timezone: Annotated[
        ZoneName | None, _zone_field("The timezone in which the free slots are returned")
    ] = None
    userId: Annotated[
        IdText | None, Field(description="The user for whom the free slots are returned")
    ] = None
    userIds: Annotated[
        list[IdText] | None, Field(description="The users for whom the free slots are returned")
    ] = None


class FreeBusyQuery(Query):
    """`GET /calendars/free-busy` query (extension): any number of each target."""

    locationId: IdText
    startTime: MillisString
    endTime: MillisString
    calendarId: list[IdText] = Field(default_factory=list)
    userId: list[IdText] = Field(default_factory=list)
    groupId: list[IdText] = Field(default_factory=list)
    timeZone: Annotated[ZoneName | None, _zone_field(TIME_ZONE)] = None


class ZoneQuery(Query):
    timeZone: Annotated[ZoneName | None, _zone_field(TIME_ZONE)] = None


# --- response documentation --------------------------------------------------------------


class SlotsSchema(BaseModel):
    slots: list[str]


class FreeSlotsResponse(RootModel[dict[str, SlotsSchema]]):
    """Availability map keyed by date (YYYY-MM-DD)."""


class BusyInterval(BaseModel):
    startTime: str
    endTime: str


class BusyTimes(BaseModel):
    busy: list[BusyInterval]


class FreeBusyResponse(BaseModel):
    calendars: dict[str, BusyTimes]
    users: dict[str, BusyTimes]
    groups: dict[str, BusyTimes]


# --- encoders ----------------------------------------------------------------------------


def slots_json(days: dict[str, list[str]]) -> dict[str, Any]:
    return {day: {"slots": starts} for day, starts in days.items()}


def free_busy_json(answer: FreeBusy, timezone: str) -> dict[str, Any]:
    tz = zone(timezone)

    def busy(intervals: list[tuple[int, int]]) -> dict[str, Any]:
        return {
            "busy": [
                {"startTime": format_ms(s, tz), "endTime": format_ms(e, tz)} for s, e in intervals
            ]
        }

    return {
        "calendars": {k: busy(v) for k, v in answer.calendars.items()},
        "users": {k: busy(v) for k, v in answer.users.items()},
        "groups": {k: busy(v) for k, v in answer.groups.items()},
    }
