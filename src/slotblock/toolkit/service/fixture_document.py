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
      feeds[]:     id, calendarId | userId | groupId, busyOnly, includeConnected, name, and
                   token (the secret of its address, chosen by the caller) or tokenHash,
                   revoked
    clock:         now (epoch ms, or ISO 8601 with an offset), frozen (default false): the
                   service's time from the load on (core/clock.py)
    companies[]:   id, name, locations[] (ids of locations of the document or stored)
    apps[]:        clientId (`<appId>-<suffix>`), clientSecret (the value) or
                   clientSecretHash (its SHA-256, as exported), name, redirectUris[],
                   scopes[], distribution (agency | location), and whom the authorize step
                   installs the app for when the request names no one: locationId (a
                   location app), companyId (an agency app); userId (the installing user)

Shape only (pydantic); the rules that span fields live in toolkit/service/fixtures.py. The
text fields of blocks and instances are the model's TEXT_FIELDS, so a new one is loaded as
it is exported. A calendar's official fields are typed as the API types them
(`api.schemas.CalendarFields`, `TeamMember`), so a fixture stores nothing a calendar write
would refuse.

Parsing JSON or YAML text is here too, limited to what JSON can say: YAML timestamps stay
strings, as JSON's would; anchors and aliases are refused (a 600-byte "billion laughs"
document expands to gigabytes), nesting is bounded, and a value JSON has no word for (a
`!!binary`, `!!set`, `!!timestamp`, `.nan`, a non-string key) or text a database cannot
store (NUL, a lone surrogate) is a problem naming its JSON path.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from slotblock.api.schemas import CALENDAR_TYPES, CalendarFields, TeamMember
from slotblock.core.model import TEXT_FIELDS

MAX_NESTING = 32  # levels of a fixture document; a real one has fewer than ten
MAX_PROBLEMS = 100  # reported at once; the rest are counted


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


class CalendarDoc(CalendarFields):
    """An official calendar body: the stored fields, and the official fields kept as given,
    each typed as the calendar DTOs type it (`locationId` is tolerated: the enclosing
    location is the calendar's)."""

    id: str | None = None
    locationId: str | None = None
    name: str = ""
    description: str = ""
    groupId: str | None = None
    isActive: bool = True
    calendarType: Literal[CALENDAR_TYPES] = "event"  # type: ignore[valid-type]
    slug: str | None = None
    teamMembers: list[TeamMember] = Field(default_factory=list)


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
    expiresAt: int | None = None  # ms since the epoch (by the service's clock); None: never


class FeedDoc(_Strict):
    id: str | None = None
    calendarId: str | None = None
    userId: str | None = None
    groupId: str | None = None
    busyOnly: bool = False
    includeConnected: bool = False
    name: str = ""
    token: str | None = None
    tokenHash: str | None = None
    revoked: bool = False


class ConnectionDoc(_Strict):
    """A connected calendar (service/connections.py); the password, if given, is sealed
    when loaded and never exported."""

    id: str | None = None
    userId: str
    url: str
    type: Literal["ical", "caldav"] | None = None
    source: str | None = None
    busyOnly: bool = False
    username: str | None = None
    password: str | None = None


class LocationDoc(_Strict):
    id: str
    name: str = ""
    timezone: str
    users: list[UserDoc] = []
    groups: list[GroupDoc] = []
    calendars: list[CalendarDoc] = []
    blocks: list[BlockDoc] = []
    tokens: list[TokenDoc] = []
    feeds: list[FeedDoc] = []
    connections: list[ConnectionDoc] = []


class ClockDoc(_Strict):
    now: int | str
    frozen: bool = False


class CompanyDoc(_Strict):
    id: str
    name: str = ""
    locations: list[str] = Field(default_factory=list, max_length=10_000)


class AppDoc(_Strict):
    clientId: str = Field(min_length=1, max_length=128)
    clientSecret: str | None = Field(None, min_length=8, max_length=512)
    clientSecretHash: str | None = None
    name: str = ""
    redirectUris: list[str] = Field(min_length=1, max_length=20)
    scopes: list[str] = Field(default_factory=list, max_length=200)
    distribution: Literal["agency", "location"] = "location"
    companyId: str | None = None
    locationId: str | None = None
    userId: str | None = None


class FixtureDoc(_Strict):
    locations: list[LocationDoc] = []
    clock: ClockDoc | None = None
    companies: list[CompanyDoc] = []
    apps: list[AppDoc] = []


class _JsonLikeLoader(yaml.SafeLoader):
    """YAML as JSON would read it: no implicit timestamps (`2026-01-05T09:00:00+01:00`
    stays a string), no anchors or aliases, nesting at most MAX_NESTING levels deep."""

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "YAML anchors and aliases (&name, *name) are not allowed",
                event.start_mark,
            )  # fmt: skip
        if self._depth >= MAX_NESTING:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_NESTING} levels", event.start_mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_JsonLikeLoader.yaml_implicit_resolvers = {
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
        return yaml.load(text, Loader=_JsonLikeLoader)
    except yaml.MarkedYAMLError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        reason = exc.problem or exc.context or "unreadable"
        raise ValueError(f"not valid JSON or YAML: {reason}{where}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid JSON or YAML: {str(exc).splitlines()[0]}") from exc


def json_path(loc: tuple[int | str, ...]) -> str:
    """`$.locations[0].blocks[1].startTime` for pydantic's ('locations', 0, 'blocks', …);
    the union members pydantic names (`int`, `function-after[…]`) are not part of it."""
    out = "$"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _document_key(part):
            out += f".{part}"
    return out


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})


def _document_key(part: str) -> bool:
    return not (set(part) & set("[]()-, ") or part in _TYPE_TAGS)


def _not_json(value: object) -> str | None:
    """Why a parsed value cannot be a JSON value, or None when it can."""
    if value is None or isinstance(value, bool | int | str | list | dict):
        return _bad_text(value) if isinstance(value, str) else None
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number (.nan/.inf are not JSON)"
    kinds = {
        bytes: "a YAML !!binary value is not JSON; write a string",
        date: "a YAML timestamp is not JSON; quote it",
        set: "a YAML !!set is not JSON; write a list",
        tuple: "a YAML !!omap or !!pairs entry is not JSON; write a mapping",
    }
    return next((why for kind, why in kinds.items() if isinstance(value, kind)), "is not JSON")


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    return None


def json_problems(data: Any) -> list[str]:
    """Every value of a parsed document that JSON (or a database) cannot hold, as
    `<JSON path>: <why>`; walked without recursion, at most MAX_NESTING levels deep."""
    problems: list[str] = []
    stack: list[tuple[Any, str, int]] = [(data, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if (why := _not_json(value)) is not None:
            problems.append(f"{path}: {why}")
        elif isinstance(value, dict | list) and depth >= MAX_NESTING:
            problems.append(f"{path}: nested deeper than {MAX_NESTING} levels")
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if not isinstance(key, str) or _bad_text(key):
                    problems.append(f"{path}: mapping keys must be strings ({str(key)[:40]!r})")
                else:
                    stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend(
                (item, f"{path}[{i}]", depth + 1) for i, item in reversed(list(enumerate(value)))
            )
    if len(problems) > MAX_PROBLEMS:
        return [*problems[:MAX_PROBLEMS], f"… and {len(problems) - MAX_PROBLEMS} more problems"]
    return problems


def shape_problems(data: Any) -> tuple[FixtureDoc | None, list[str]]:
    """The parsed document, or every shape problem as `<JSON path>: <message>`."""
    if problems := json_problems(data):
        return None, problems
    try:
        return FixtureDoc.model_validate(data), []
    except ValidationError as exc:
        found = [
            f"{json_path(tuple(e['loc']))}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        return None, list(dict.fromkeys(found))
