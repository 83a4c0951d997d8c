"""The fixture document: the shape of a whole state, as loaded and exported.

    locations[]: id, name, timezone,
      users[]:     id, name, email
      groups[]:    id, name, description, slug, isActive
      calendars[]: id, name, description, groupId, isActive, calendarType, slug,
                   teamMembers[] ({userId, …}), and any other official calendar field
      blocks[]:    id, calendarId | assignedUserId, the text fields (the model's
                   TEXT_FIELDS: title, description, …), startTime, endTime (ISO 8601 with
                   an offset), rrule, timezone, instances[] (edited occurrences:
                   originalStartTime, startTime, endTime, the text fields)
      tokens[]:    id, name, scopes, and token (the value, chosen by the caller) or tokenHash
                   (its SHA-256, as exported), revoked
    clock:         now (epoch ms, or ISO 8601 with an offset), frozen (default false): the
                   service's time from the load on (core/clock.py)

Shape only (pydantic); the rules that span fields live in toolkit/service/fixtures.py. Parsing JSON
or YAML text is here too: YAML timestamps stay strings, as JSON's would. The text fields of
blocks and instances are the model's TEXT_FIELDS, so a new one is loaded as it is exported.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from slotblock.core.model import TEXT_FIELDS


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


def _with_texts(name: str, base: type[_Strict], text: Any, default: Any) -> Any:
    """`base`, then every block text field (TEXT_FIELDS) of type `text`, `default` when
    absent: the document's fields keep their order (the head, the texts, the rest)."""
    texts: dict[str, Any] = {field: (text, default) for field in TEXT_FIELDS}
    return create_model(name, __base__=base, **texts)


class _InstanceHead(_Strict):
    originalStartTime: str
    startTime: str | None = None
    endTime: str | None = None


_InstanceTexts: Any = _with_texts("InstanceTexts", _InstanceHead, str | None, None)


class InstanceDoc(_InstanceTexts):  # type: ignore[misc]
    """An edited occurrence: its times, and the texts it changes (None: the series')."""


class _BlockHead(_Strict):
    id: str | None = None
    calendarId: str | None = None
    assignedUserId: str | None = None


_BlockTexts: Any = _with_texts("BlockTexts", _BlockHead, str, "")


class BlockDoc(_BlockTexts):  # type: ignore[misc]
    startTime: str
    endTime: str
    rrule: str | list[str] | None = None
    timezone: str | None = None
    instances: list[InstanceDoc] = Field(default_factory=list)


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


class ClockDoc(_Strict):
    now: int | str
    frozen: bool = False


class FixtureDoc(_Strict):
    locations: list[LocationDoc] = []
    clock: ClockDoc | None = None


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
