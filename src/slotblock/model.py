"""Domain records shared by the layers: frozen dataclasses, no I/O.

All instants are UTC epoch milliseconds; zones are IANA names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCOPES = (
    "calendars/events.readonly",
    "calendars/events.write",
    "calendars.readonly",
    "calendars.write",
    "calendars/groups.readonly",
    "calendars/groups.write",
    "calendars/events.freebusy",  # free/busy only; calendars/events.readonly includes it
)

JSONObject = dict[str, Any]


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
    fields: JSONObject  # title / description / notes / address when changed


@dataclass(frozen=True)
class Block:
    """A stored block: one-off, or the master of a series (`rrule` set)."""

    location_id: str
    id: str
    calendar_id: str | None
    assigned_user_id: str | None
    title: str
    description: str
    notes: str
    address: str
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

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class Event:
    """One event as the API shows it: a one-off block, or one instance of a series."""

    block: Block
    id: str
    start_ms: int
    end_ms: int
    original_start_ms: int | None  # None for a one-off block
    fields: JSONObject  # the instance's own title/description/notes/address, if changed

    def text(self, name: str) -> str:
        value = self.fields.get(name, getattr(self.block, name))
        return str(value)
