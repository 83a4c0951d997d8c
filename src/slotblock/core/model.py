"""Domain records shared by the layers: frozen dataclasses, no I/O.

All instants are UTC epoch milliseconds; zones are IANA names.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

# The platform's scopes a token may hold (each spelled here only).
EVENTS_READ = "calendars/events.readonly"
EVENTS_WRITE = "calendars/events.write"
CALENDARS_READ = "calendars.readonly"
CALENDARS_WRITE = "calendars.write"
GROUPS_READ = "calendars/groups.readonly"
GROUPS_WRITE = "calendars/groups.write"
FREEBUSY = "calendars/events.freebusy"  # free/busy only; EVENTS_READ includes it
LOCATIONS_READ = "locations.readonly"  # the token's own location (CALENDARS_READ suffices)
SCOPES = (
    EVENTS_READ,
    EVENTS_WRITE,
    CALENDARS_READ,
    CALENDARS_WRITE,
    GROUPS_READ,
    GROUPS_WRITE,
    FREEBUSY,
    LOCATIONS_READ,
)

JSONObject = dict[str, Any]
# Marks a block's free-text fields: optional on the wire ("" when absent), and changeable
# on one instance of a series (an override keeps its own values of them). Adding one is a
# field here, a column (tables.py and a migration), and a field in BlockSlotBody and in
# CalendarEventDTO (api/schemas.py); every other mapping (the store's rows, the fixture
# document, the size estimates) is derived from TEXT_FIELDS.
TEXT: dict[str, bool] = {"text": True}


@dataclass(frozen=True)
class Location:
    id: str
    name: str
    timezone: str


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token bound to one location and to scopes."""

    token_id: str
    location: Location
    scopes: frozenset[str]


@dataclass(frozen=True)
class TokenInfo:
    id: str
    location_id: str
    name: str
    scopes: tuple[str, ...]
    created_ms: int
    revoked_ms: int | None
    expires_ms: int | None = None  # refused from then on; None: until revoked


@dataclass(frozen=True)
class Feed:
    """An iCalendar subscription feed: the blocked time of one calendar, user or group,
    published at a secret address (only its hash is stored)."""

    id: str
    location_id: str
    target_kind: TargetKind
    target_id: str
    busy_only: bool  # every event says "Busy" and nothing else
    include_connected: bool  # blocks synced from a connected calendar too
    name: str
    created_ms: int
    revoked_ms: int | None


@dataclass(frozen=True)
class Group:
    location_id: str
    id: str
    name: str
    description: str
    slug: str
    is_active: bool


@dataclass(frozen=True)
class Calendar:
    location_id: str
    id: str
    name: str
    description: str
    group_id: str | None
    is_active: bool
    calendar_type: str
    slug: str
    team_members: tuple[JSONObject, ...]  # each has "userId"; other official fields kept
    extra: JSONObject = field(default_factory=dict)  # the rest of the official body


@dataclass(frozen=True)
class Override:
    """A changed instance of a series, keyed by its original start."""

    original_start_ms: int
    start_ms: int
    end_ms: int
    fields: JSONObject  # the TEXT_FIELDS changed on this instance


@dataclass(frozen=True, kw_only=True)
class Block:
    """A stored block: one-off, or the master of a series (`rrule` set)."""

    location_id: str
    id: str
    calendar_id: str | None
    assigned_user_id: str | None
    title: str = field(default="", metadata=TEXT)
    description: str = field(default="", metadata=TEXT)
    notes: str = field(default="", metadata=TEXT)
    address: str = field(default="", metadata=TEXT)
    start_ms: int
    end_ms: int
    timezone: str
    rrule: str | None
    last_start_ms: int | None
    overrides: tuple[Override, ...]
    created_ms: int
    updated_ms: int
    group_id: str | None = None  # the calendar's group, filled in by queries
    version: int = 0  # bumped by every write (store), so (id, version) names one content
    # A block synced from a connected calendar: its connection, and the `createdBy.source`
    # it is shown with (google_calendar…); None for a block a client wrote. Read-only.
    connection_id: str | None = None
    source: str | None = None

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


TEXT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Block) if f.metadata.get("text"))


def text_chars(block: Block) -> int:
    """The characters of a block's text fields (what the size estimates count of them)."""
    return sum(len(getattr(block, name)) for name in TEXT_FIELDS)


TargetKind = Literal["calendar", "user", "group"]


@dataclass(frozen=True)
class Targets:
    """The (calendar, user, group) filter of a query: the blocks of a calendar, of a user,
    of the calendars of a group; every target given must hold (None: not filtered on)."""

    calendar_id: str | None = None
    user_id: str | None = None
    group_id: str | None = None

    @classmethod
    def one(cls, kind: TargetKind, target_id: str) -> Targets:
        if kind == "calendar":
            return cls(calendar_id=target_id)
        if kind == "user":
            return cls(user_id=target_id)
        return cls(group_id=target_id)

    @property
    def shape(self) -> tuple[bool, bool, bool]:
        """Which targets are given (calendar, user, group): one statement serves a shape."""
        return (self.calendar_id is not None, self.user_id is not None, self.group_id is not None)

    def given(self) -> list[tuple[TargetKind, str]]:
        """(kind, id) of each target given, in the order calendar, user, group."""
        kinds: tuple[TargetKind, ...] = ("calendar", "user", "group")
        ids = (self.calendar_id, self.user_id, self.group_id)
        return [(kind, value) for kind, value in zip(kinds, ids, strict=True) if value is not None]


@dataclass(frozen=True)
class Event:
    """One event as the API shows it: a one-off block, or one instance of a series."""

    block: Block
    id: str
    start_ms: int
    end_ms: int
    original_start_ms: int | None  # None for a one-off block
    fields: JSONObject  # the instance's own TEXT_FIELDS, if changed

    def text(self, name: str) -> str:
        value = self.fields.get(name, getattr(self.block, name))
        return str(value)


CONNECTION_SOURCES = ("google_calendar", "outlook_calendar", "icloud_calendar", "caldav", "ical")
CONNECTION_KINDS = ("ical", "caldav")


@dataclass(frozen=True, kw_only=True)
class Connection:
    """A user's own calendar whose busy time becomes the user's blocks (service/connections.py).
    Its password or token is kept sealed (`has_secret`) and never read back out."""

    location_id: str
    id: str
    user_id: str
    url: str
    kind: str  # CONNECTION_KINDS: an iCalendar document, or a CalDAV collection
    source: str  # CONNECTION_SOURCES: the blocks' createdBy.source
    busy_only: bool
    username: str | None
    has_secret: bool
    created_ms: int
    next_sync_ms: int
    last_success_ms: int | None = None
    last_error: str | None = None
    last_error_ms: int | None = None
    failures: int = 0
    event_count: int = 0
    warnings: tuple[str, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    sync_token: str | None = None
