"""Reset, load and export whole states (the fixture document of fixture_document.py).

A load is all or nothing: every problem of the document (shape, references, times, rules,
ids already taken) is collected with its JSON path and reported at once (InvalidInput), and
nothing is written unless there is none; the writes are one transaction. Export writes the
same format, so that load(export(x)) stores x again and export(load(d)) is d normalized:
times in the block's zone, the rule normalized, defaults left out, tokens by hash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.core import recurrence
from slotblock.core.errors import InvalidInput, NotFound, RecurrenceError
from slotblock.core.instances import series_of
from slotblock.core.isotime import format_ms, parse_iso, zone
from slotblock.core.model import (
    SCOPES,
    TEXT_FIELDS,
    Block,
    Calendar,
    Group,
    Location,
    Override,
    TokenInfo,
)
from slotblock.core.tokens import hash_token, is_id, new_id
from slotblock.service.calendars import slugify
from slotblock.store import Store, directory
from slotblock.store import blocks as block_store
from slotblock.store import changes as change_store
from slotblock.store import tokens as token_store
from slotblock.toolkit.service.fixture_document import (
    BlockDoc,
    CalendarDoc,
    FixtureDoc,
    LocationDoc,
    TokenDoc,
    parse_text,
    shape_problems,
)
from slotblock.toolkit.store import control as admin_store

_HASH = re.compile(r"[0-9a-f]{64}")
_TOKEN = re.compile(r"[\x21-\x7e]{8,512}")  # printable ASCII, no spaces: a Bearer value


@dataclass
class _Plan:
    """What a valid document becomes, with the JSON path of what the database may refuse."""

    locations: list[tuple[Location, str]] = field(default_factory=list)
    users: list[tuple[str, str, str, str]] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    calendars: list[Calendar] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    tokens: list[tuple[TokenInfo, str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "locations": [location.id for location, _ in self.locations],
            "users": len(self.users),
            "groups": len(self.groups),
            "calendars": len(self.calendars),
            "blocks": len(self.blocks),
            "tokens": len(self.tokens),
        }


class _Builder:
    """Checks a shape-valid document, collecting every problem, and plans its rows."""

    def __init__(self, max_count: int, now_ms: int) -> None:
        self.max_count = max_count
        self.now = now_ms
        self.problems: list[str] = []
        self.plan = _Plan()
        self._location_ids: set[str] = set()
        self._token_ids: set[str] = set()
        self._token_hashes: set[str] = set()

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def chosen_id(self, value: str | None, path: str, seen: set[str]) -> str:
        if value is None:
            return new_id()
        if not is_id(value):
            self.problem(path, "must be 1-64 letters and digits")
        elif value in seen:
            self.problem(path, f"duplicate id {value}")
        seen.add(value)
        return value

    def instant(self, value: str, path: str) -> int | None:
        try:
            return parse_iso(value)
        except ValueError:
            self.problem(path, "must be an ISO 8601 date-time with an offset")
            return None

    def zone_ok(self, name: str, path: str) -> bool:
        try:
            zone(name)
        except ValueError:
            self.problem(path, f"unknown IANA timezone {name!r}")
            return False
        return True

    # --- the document, location by location ----------------------------------------------

    def document(self, doc: FixtureDoc) -> None:
        for index, location in enumerate(doc.locations):
            self.location(location, f"$.locations[{index}]")

    def location(self, doc: LocationDoc, path: str) -> None:
        if not is_id(doc.id):
            self.problem(f"{path}.id", "must be 1-64 letters and digits")
        elif doc.id in self._location_ids:
            self.problem(f"{path}.id", f"duplicate location {doc.id}")
        self._location_ids.add(doc.id)
        zone_ok = self.zone_ok(doc.timezone, f"{path}.timezone")
        self.plan.locations.append((Location(doc.id, doc.name, doc.timezone), path))
        users = self.users(doc, path)
        groups = self.groups(doc, path)
        calendars: set[str] = set()
        for index, calendar in enumerate(doc.calendars):
            self.calendar(doc.id, calendar, f"{path}.calendars[{index}]", groups, users, calendars)
        block_ids: set[str] = set()
        for index, block in enumerate(doc.blocks):
            where = f"{path}.blocks[{index}]"
            owners = (calendars, users)
            self.block(doc, block, where, owners, block_ids, zone_ok=zone_ok)
        for index, token in enumerate(doc.tokens):
            self.token(doc.id, token, f"{path}.tokens[{index}]")

    def users(self, doc: LocationDoc, path: str) -> set[str]:
        seen: set[str] = set()
        for index, user in enumerate(doc.users):
            user_id = self.chosen_id(user.id, f"{path}.users[{index}].id", seen)
            self.plan.users.append((doc.id, user_id, user.name, user.email))
        return seen

    def groups(self, doc: LocationDoc, path: str) -> set[str]:
        seen: set[str] = set()
        for index, group in enumerate(doc.groups):
            group_id = self.chosen_id(group.id, f"{path}.groups[{index}].id", seen)
            slug = group.slug if group.slug is not None else slugify(group.name)
            self.plan.groups.append(
                Group(doc.id, group_id, group.name, group.description, slug, group.isActive)
            )
        return seen

    def calendar(
        self,
        location_id: str,
        doc: CalendarDoc,
        path: str,
        groups: set[str],
        users: set[str],
        seen: set[str],
    ) -> None:
        calendar_id = self.chosen_id(doc.id, f"{path}.id", seen)
        if doc.groupId and doc.groupId not in groups:
            self.problem(f"{path}.groupId", f"no group {doc.groupId} in this location")
        members: set[str] = set()
        for index, member in enumerate(doc.teamMembers):
            user = member.get("userId")
            if not isinstance(user, str) or user not in users or user in members:
                self.problem(
                    f"{path}.teamMembers[{index}].userId",
                    f"must be a user of this location, once ({user!r})",
                )
            members.add(str(user))
        extra = {k: v for k, v in (doc.model_extra or {}).items() if k != "locationId"}
        self.plan.calendars.append(
            Calendar(
                location_id=location_id,
                id=calendar_id,
                name=doc.name,
                description=doc.description,
                group_id=doc.groupId or None,
                is_active=doc.isActive,
                calendar_type=doc.calendarType,
                slug=doc.slug if doc.slug is not None else slugify(doc.name),
                team_members=tuple(doc.teamMembers),
                extra=extra,
            )
        )

    def owner_ok(self, doc: BlockDoc, path: str, owners: tuple[set[str], set[str]]) -> None:
        calendars, users = owners
        if (doc.calendarId is None) == (doc.assignedUserId is None):
            self.problem(path, "exactly one of calendarId or assignedUserId is required")
        elif doc.calendarId is not None and doc.calendarId not in calendars:
            self.problem(f"{path}.calendarId", f"no calendar {doc.calendarId} in this location")
        elif doc.assignedUserId is not None and doc.assignedUserId not in users:
            self.problem(f"{path}.assignedUserId", f"no user {doc.assignedUserId} in this location")

    def block(
        self,
        location: LocationDoc,
        doc: BlockDoc,
        path: str,
        owners: tuple[set[str], set[str]],
        seen: set[str],
        *,
        zone_ok: bool,
    ) -> None:
        block_id = self.chosen_id(doc.id, f"{path}.id", seen)
        self.owner_ok(doc, path, owners)
        start = self.instant(doc.startTime, f"{path}.startTime")
        end = self.instant(doc.endTime, f"{path}.endTime")
        timezone = doc.timezone or location.timezone
        if doc.timezone is not None:
            zone_ok = self.zone_ok(doc.timezone, f"{path}.timezone")
        if start is None or end is None or not zone_ok:
            return
        if end <= start:
            self.problem(f"{path}.endTime", "must be after startTime")
            return
        block = Block(
            location_id=location.id,
            id=block_id,
            calendar_id=doc.calendarId,
            assigned_user_id=doc.assignedUserId,
            title=doc.title,
            description=doc.description,
            notes=doc.notes,
            address=doc.address,
            start_ms=start,
            end_ms=end,
            timezone=timezone,
            rrule=None,
            last_start_ms=None,
            overrides=(),
            created_ms=self.now,
            updated_ms=self.now,
        )
        self.series(block, doc, path)

    def series(self, block: Block, doc: BlockDoc, path: str) -> None:
        if not doc.rrule:
            if doc.instances:
                self.problem(f"{path}.instances", "only a recurring block has instances")
            self.plan.blocks.append(block)
            return
        try:
            rule = recurrence.parse_rule(
                doc.rrule,
                start_ms=block.start_ms,
                zone_name=block.timezone,
                max_count=self.max_count,
            )
        except RecurrenceError as exc:
            self.problem(f"{path}.rrule", str(exc))
            return
        last = recurrence.last_start(rule, block.start_ms, block.timezone)
        block = replace(block, rrule=rule.text, last_start_ms=last)
        overrides = [self.instance(block, doc, index, path) for index in range(len(doc.instances))]
        kept = tuple(o for o in overrides if o is not None)
        if len({o.original_start_ms for o in kept}) < len(kept):
            self.problem(f"{path}.instances", "an occurrence is edited twice")
        self.plan.blocks.append(replace(block, overrides=kept))

    def instance(self, block: Block, doc: BlockDoc, index: int, path: str) -> Override | None:
        item = doc.instances[index]
        where = f"{path}.instances[{index}]"
        original = self.instant(item.originalStartTime, f"{where}.originalStartTime")
        if original is None:
            return None
        if not recurrence.is_occurrence(series_of(block), original):
            self.problem(f"{where}.originalStartTime", "is not an occurrence of the series")
            return None
        start = (
            original
            if item.startTime is None
            else self.instant(item.startTime, f"{where}.startTime")
        )
        end = (
            original + block.duration_ms
            if item.endTime is None
            else self.instant(item.endTime, f"{where}.endTime")
        )
        if start is None or end is None:
            return None
        if end <= start:
            self.problem(f"{where}.endTime", "must be after startTime")
            return None
        fields = {n: v for n in TEXT_FIELDS if (v := getattr(item, n)) is not None}
        return Override(original, start, end, fields)

    def token(self, location_id: str, doc: TokenDoc, path: str) -> None:
        token_id = self.chosen_id(doc.id, f"{path}.id", self._token_ids)
        digest = self.token_hash(doc, path)
        unknown = sorted(set(doc.scopes or ()) - set(SCOPES))
        if unknown:
            self.problem(f"{path}.scopes", f"unknown scope(s): {', '.join(unknown)}")
        if digest is None:
            return
        if digest in self._token_hashes:
            self.problem(path, "the same token is given twice")
        self._token_hashes.add(digest)
        scopes = tuple(SCOPES if doc.scopes is None else doc.scopes)
        revoked = self.now if doc.revoked else None
        info = TokenInfo(token_id, location_id, doc.name, scopes, self.now, revoked)
        self.plan.tokens.append((info, digest, path))

    def token_hash(self, doc: TokenDoc, path: str) -> str | None:
        if (doc.token is None) == (doc.tokenHash is None):
            self.problem(path, "exactly one of token or tokenHash is required")
        elif doc.token is not None and not _TOKEN.fullmatch(doc.token):
            self.problem(f"{path}.token", "must be 8-512 printable characters without spaces")
        elif doc.tokenHash is not None and not _HASH.fullmatch(doc.tokenHash):
            self.problem(f"{path}.tokenHash", "must be 64 lowercase hex digits (SHA-256)")
        else:
            return hash_token(doc.token) if doc.token is not None else doc.tokenHash
        return None


class FixtureService:
    """Reset, load and export; `forget` drops what this process cached of stored data."""

    def __init__(
        self,
        store: Store,
        max_count: int,
        clock: Callable[[], int],
        forget: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.max_count = max_count
        self.clock = clock
        self.forget = forget

    async def reset(self, location_id: str | None = None) -> None:
        """Empty the database (admin tokens kept), or one location (404 if there is none)."""
        async with self.store.begin() as conn:
            if location_id is None:
                await admin_store.delete_everything(conn)
            elif not await admin_store.delete_location(conn, location_id):
                raise NotFound(f"location {location_id} not found")
        self.forget()

    async def load_text(self, text: bytes | str) -> dict[str, Any]:
        try:
            data = parse_text(text)
        except ValueError as exc:
            raise InvalidInput(f"$: {exc}") from exc
        return await self.load(data)

    async def load(self, data: Any) -> dict[str, Any]:
        """Store the document's state, or change nothing and raise InvalidInput listing
        every problem as `<JSON path>: <message>`. Returns what was loaded."""
        doc, problems = shape_problems(data)
        if doc is None:
            raise InvalidInput(*problems)
        builder = _Builder(self.max_count, self.clock())
        builder.document(doc)
        if builder.problems:
            raise InvalidInput(*builder.problems)
        plan = builder.plan
        async with self.store.begin() as conn:
            taken = await _taken(conn, plan)
            if taken:
                raise InvalidInput(*taken)
            await _write(conn, plan, builder.now)
        self.forget()
        return plan.counts()

    async def export(self, location_id: str | None = None) -> dict[str, Any]:
        """The state of one location, or of all, as a fixture document."""
        async with self.store.read() as conn:
            if location_id is None:
                ids = await admin_store.location_ids(conn)
            else:
                ids = [location_id]
            return {"locations": [await _export_location(conn, i) for i in ids]}


async def _taken(conn: AsyncConnection, plan: _Plan) -> list[str]:
    """Problems with what is already stored: location ids, token ids and token values."""
    ids = [location.id for location, _ in plan.locations]
    existing = await admin_store.existing_locations(conn, ids)
    problems = [
        f"{path}.id: location {location.id} already exists"
        for location, path in plan.locations
        if location.id in existing
    ]
    token_ids, hashes = await admin_store.taken_tokens(
        conn, [t.id for t, _, _ in plan.tokens], [h for _, h, _ in plan.tokens]
    )
    for info, digest, path in plan.tokens:
        if info.id in token_ids:
            problems.append(f"{path}.id: token id {info.id} already exists")
        if digest in hashes:
            problems.append(f"{path}: this token already exists")
    return problems


async def _write(conn: AsyncConnection, plan: _Plan, now: int) -> None:
    for location, _ in plan.locations:
        await directory.insert_location(conn, location, now)
    for location_id, user_id, name, email in plan.users:
        await directory.insert_user(conn, location_id, user_id, name, email, now)
    for group in plan.groups:
        await directory.insert_group(conn, group, now)
    for calendar in plan.calendars:
        await directory.insert_calendar(conn, calendar, now)
    await block_store.insert_blocks(conn, plan.blocks)
    for info, digest, _ in plan.tokens:
        await token_store.insert_token(conn, info, digest)
        if info.revoked_ms is not None:
            await token_store.revoke(conn, info.id, info.revoked_ms)
    # A version no process can have cached, though a reset may leave the same ids behind:
    # every write of a block takes one change number of its location, whose counter
    # outlives resets, so a block's version never passes that counter; the next number is
    # above every version the location's blocks ever had (service/caches/__init__.py).
    for location, _ in plan.locations:
        version = await change_store.take_seq(conn, location.id)
        await admin_store.set_block_versions(conn, location.id, version)


# --- export ------------------------------------------------------------------------------


async def _export_location(conn: AsyncConnection, location_id: str) -> dict[str, Any]:
    location = await directory.get_location(conn, location_id)
    if location is None:
        raise NotFound(f"location {location_id} not found")
    blocks = []
    for block_id in await admin_store.block_ids(conn, location_id):
        found = await block_store.get_block(conn, location_id, block_id)
        if found is not None:
            blocks.append(_block_doc(found[0], location.timezone))
    hashes = await admin_store.token_hashes(conn, location_id)
    tokens = [
        _token_doc(info, hashes[info.id])
        for info in await token_store.list_tokens(conn, location_id)
    ]
    return {
        "id": location.id,
        "name": location.name,
        "timezone": location.timezone,
        "users": [
            {"id": i, "name": n, "email": e}
            for i, n, e in await admin_store.list_users(conn, location_id)
        ],
        "groups": [_group_doc(g) for g in await directory.list_groups(conn, location_id)],
        "calendars": [_calendar_doc(c) for c in await directory.list_calendars(conn, location_id)],
        "blocks": blocks,
        "tokens": sorted(tokens, key=lambda t: str(t["id"])),
    }


def _group_doc(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "slug": group.slug,
        "isActive": group.is_active,
    }


def _calendar_doc(calendar: Calendar) -> dict[str, Any]:
    return {
        **calendar.extra,
        "id": calendar.id,
        "name": calendar.name,
        "description": calendar.description,
        "groupId": calendar.group_id,
        "isActive": calendar.is_active,
        "calendarType": calendar.calendar_type,
        "slug": calendar.slug,
        "teamMembers": [dict(member) for member in calendar.team_members],
    }


def _block_doc(block: Block, location_timezone: str) -> dict[str, Any]:
    tz = zone(block.timezone)
    owner = (
        {"calendarId": block.calendar_id}
        if block.calendar_id is not None
        else {"assignedUserId": block.assigned_user_id}
    )
    doc: dict[str, Any] = {
        "id": block.id,
        **owner,
        "title": block.title,
        **{n: getattr(block, n) for n in TEXT_FIELDS[1:] if getattr(block, n)},
        "startTime": format_ms(block.start_ms, tz),
        "endTime": format_ms(block.end_ms, tz),
    }
    if block.timezone != location_timezone:
        doc["timezone"] = block.timezone
    if block.rrule is not None:
        doc["rrule"] = block.rrule
    if block.overrides:
        doc["instances"] = [
            {
                "originalStartTime": format_ms(o.original_start_ms, tz),
                "startTime": format_ms(o.start_ms, tz),
                "endTime": format_ms(o.end_ms, tz),
                **o.fields,
            }
            for o in sorted(block.overrides, key=lambda o: o.original_start_ms)
        ]
    return doc


def _token_doc(info: TokenInfo, digest: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": info.id,
        "name": info.name,
        "scopes": list(info.scopes),
        "tokenHash": digest,
    }
    if info.revoked_ms is not None:
        doc["revoked"] = True
    return doc
