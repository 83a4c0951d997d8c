"""The fixture document: the shape of a whole state, as loaded and exported.

    locations[]: id, name, timezone,
      users[]:     id, name, email
      groups[]:    id, name, description, slug, isActive
      calendars[]: id, name, description, groupId, isActive, calendarType, slug,
                   teamMembers[] ({userId, …}), and any other official calendar field
      blocks[]:    id, calendarId | assignedUserId, title, description, notes, address,
                   startTime, endTime (ISO 8601 with an offset), rrule, timezone,
                   instances[] (edited occurrences: originalStartTime, startTime, endTime,
                   title, description, notes, address)
      tokens[]:    id, name, scopes, and token (the value, chosen by the caller) or tokenHash
                   (its SHA-256, as exported), revoked

Shape only (pydantic); the rules that span fields live in toolkit/service/fixtures.py. Parsing JSON
or YAML text is here too: YAML timestamps stay strings, as JSON's would.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class UserDoc(_Strict):
    id: str | None = None
    name: str = ""
    email: str = ""


class GroupDoc(_Strict):
    id: str | None = None
    name: str = ""
    description: str = ""
    slug: str | None = None
    isActive: bool = True


class CalendarDoc(BaseModel):
    """An official calendar body: the stored fields typed, any other field kept as given."""

    model_config = ConfigDict(extra="allow", strict=True)
    id: str | None = None
    name: str = ""
    description: str = ""
    groupId: str | None = None
    isActive: bool = True
    calendarType: str = "event"
    slug: str | None = None
    teamMembers: list[dict[str, Any]] = []


class InstanceDoc(_Strict):
    originalStartTime: str
    startTime: str | None = None
    endTime: str | None = None
    title: str | None = None
    description: str | None = None
    notes: str | None = None
    address: str | None = None


class BlockDoc(_Strict):
    id: str | None = None
    calendarId: str | None = None
    assignedUserId: str | None = None
    title: str = ""
    description: str = ""
    notes: str = ""
    address: str = ""
    startTime: str
    endTime: str
    rrule: str | list[str] | None = None
    timezone: str | None = None
    instances: list[InstanceDoc] = []


class TokenDoc(_Strict):
    id: str | None = None
    name: str = ""
    token: str | None = None
    tokenHash: str | None = None
    scopes: list[str] | None = None
    revoked: bool = False


class LocationDoc(_Strict):
    id: str
    name: str = ""
    timezone: str
    users: list[UserDoc] = []
    groups: list[GroupDoc] = []
    calendars: list[CalendarDoc] = []
    blocks: list[BlockDoc] = []
    tokens: list[TokenDoc] = []


class FixtureDoc(_Strict):
    locations: list[LocationDoc] = []


class _TextLoader(yaml.SafeLoader):
    """YAML without implicit timestamps: `2026-01-05T09:00:00+01:00` stays a string."""


_TextLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_text(text: bytes | str) -> Any:
    """The data of a JSON or YAML document; ValueError with the parser's reason."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return yaml.load(text, Loader=_TextLoader)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid JSON or YAML: {str(exc).splitlines()[0]}") from exc


def json_path(loc: tuple[int | str, ...]) -> str:
    """`$.locations[0].blocks[1].startTime` for pydantic's ('locations', 0, 'blocks', …)."""
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def shape_problems(data: Any) -> tuple[FixtureDoc | None, list[str]]:
    """The parsed document, or every shape problem as `<JSON path>: <message>`."""
    try:
        return FixtureDoc.model_validate(data), []
    except ValidationError as exc:
        problems = [f"{json_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        return None, list(dict.fromkeys(problems))
