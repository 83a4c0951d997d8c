"""Reset, load and export whole states (the fixture document of fixture_document.py).

A load is all or nothing: every problem of the document (shape, references, times, rules,
ids already taken) is collected with its JSON path and reported at once (InvalidInput), and
nothing is written unless there is none; the writes are one transaction. Rules are checked
as API writes check them (the rule work budget, the exception cap), in a worker thread: a
rule that never matches costs the event loop nothing. Should the database still refuse a
row (a constraint of its own, or a concurrent load of the same ids), the load is tried
again row by row and the refusal named by that row's JSON path. Export writes the
same format, so that load(export(x)) stores x again and export(load(d)) is d normalized:
times in the block's zone, the rule normalized, defaults left out, tokens by hash.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.api.schemas import CALENDAR_FIELDS
from slotblock.config import Settings
from slotblock.core import recurrence
from slotblock.core.clock import ClockSetting, iso_utc, parse_instant
from slotblock.core.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    RecurrenceError,
    ReferenceMissing,
    SlotblockError,
)
from slotblock.core.instances import series_of
from slotblock.core.isotime import format_ms, parse_iso, zone
from slotblock.core.model import (
    SCOPES,
    TEXT_FIELDS,
    Block,
    Calendar,
    Connection,
    Feed,
    Group,
    Location,
    Override,
    TargetKind,
    TokenInfo,
)
from slotblock.core.rrule_work import Budget
from slotblock.core.tokens import hash_token, is_id, new_id
from slotblock.core.wire import calendar_json, group_json
from slotblock.service.calendars import slugify
from slotblock.service.clock import wall_clock_ms
from slotblock.service.connections import ConnectionFactory, ConnectionInput, NewConnection
from slotblock.service.write_retry import until_written
from slotblock.store import Store, directory
from slotblock.store import blocks as block_store
from slotblock.store import changes as change_store
from slotblock.store import clock as clock_store
from slotblock.store import connections as connection_store
from slotblock.store import feeds as feed_store
from slotblock.store import tokens as token_store
from slotblock.store.integrity import is_outage
from slotblock.toolkit.service import fixture_oauth
from slotblock.toolkit.service.fixture_document import (
    BlockDoc,
    CalendarDoc,
    ConnectionDoc,
    FeedDoc,
    FixtureDoc,
    LocationDoc,
    TokenDoc,
    parse_text,
    shape_problems,
)
from slotblock.toolkit.store import control as admin_store

_HASH = re.compile(r"[0-9a-f]{64}")
_TOKEN = re.compile(r"[\x21-\x7e]{8,512}")  # printable ASCII, no spaces: a Bearer value
_ALWAYS_WRITTEN = "title"  # the official text field, exported even empty; the others when set


@dataclass
class _Plan:
    """What a valid document becomes, with the JSON path of what the database may refuse."""

    locations: list[tuple[Location, str]] = field(default_factory=list)
    users: list[tuple[tuple[str, str, str, str], str]] = field(default_factory=list)
    groups: list[tuple[Group, str]] = field(default_factory=list)
    calendars: list[tuple[Calendar, str]] = field(default_factory=list)
    blocks: list[tuple[Block, str]] = field(default_factory=list)
    tokens: list[tuple[TokenInfo, str, str]] = field(default_factory=list)
    oauth: fixture_oauth.OAuthPlan = field(default_factory=fixture_oauth.OAuthPlan)
    feeds: list[tuple[Feed, str, str]] = field(default_factory=list)
    connections: list[tuple[NewConnection, str]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        oauth = {k: n for k, n in self.oauth.counts().items() if n}
        return (
            oauth
            | {
                "locations": [location.id for location, _ in self.locations],
                "users": len(self.users),
                "groups": len(self.groups),
                "calendars": len(self.calendars),
                "blocks": len(self.blocks),
                "tokens": len(self.tokens),
                "feeds": len(self.feeds),
            }
            | ({"connections": len(self.connections)} if self.connections else {})
        )


@dataclass(frozen=True)
class RuleLimits:
    """What an API write allows a rule (SLOTBLOCK_MAX_COUNT, _RULE_WORK, _MAX_EXCEPTIONS),
    and a connection (the outbound policy, SLOTBLOCK_CONNECTION_KEY)."""

    max_count: int = Settings.model_fields["max_count"].default
    work: int = Settings.model_fields["rule_work"].default
    max_exceptions: int = Settings.model_fields["max_exceptions"].default
    connections: ConnectionFactory = field(
        default_factory=lambda: ConnectionFactory(Settings()), compare=False
    )

    @classmethod
    def of(cls, settings: Settings) -> RuleLimits:
        return cls(
            settings.max_count,
            settings.rule_work,
            settings.max_exceptions,
            ConnectionFactory(settings),
        )


class _Builder:
    """Checks a shape-valid document, collecting every problem, and plans its rows."""

    def __init__(self, limits: RuleLimits, now_ms: int) -> None:
        self.limits = limits
        self.now = now_ms
        self.problems: list[str] = []
        self.plan = _Plan()
        self._location_ids: set[str] = set()
        self._token_ids: set[str] = set()
        self._token_hashes: set[str] = set()
        self._feed_ids: set[str] = set()
        self._feed_hashes: set[str] = set()

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
        targets = {"calendar": calendars, "user": users, "group": set(groups)}
        for index, feed in enumerate(doc.feeds):
            self.feed(doc.id, feed, f"{path}.feeds[{index}]", targets)
        seen: set[str] = set()
        for index, connection in enumerate(doc.connections):
            self.connection(doc.id, connection, f"{path}.connections[{index}]", users, seen)

    def users(self, doc: LocationDoc, path: str) -> set[str]:
        seen: set[str] = set()
        for index, user in enumerate(doc.users):
            where = f"{path}.users[{index}]"
            user_id = self.chosen_id(user.id, f"{where}.id", seen)
            self.plan.users.append(((doc.id, user_id, user.name, user.email), where))
        return seen

    def groups(self, doc: LocationDoc, path: str) -> set[str]:
        seen: set[str] = set()
        for index, group in enumerate(doc.groups):
            where = f"{path}.groups[{index}]"
            group_id = self.chosen_id(group.id, f"{where}.id", seen)
            slug = group.slug if group.slug is not None else slugify(group.name)
            self.plan.groups.append(
                (
                    Group(
                        location_id=doc.id,
                        id=group_id,
                        name=group.name,
                        description=group.description,
                        slug=slug,
                        is_active=group.isActive,
                    ),
                    where,
                )
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
            user = member.userId
            if user not in users or user in members:
                self.problem(
                    f"{path}.teamMembers[{index}].userId",
                    f"must be a user of this location, once ({user!r})",
                )
            members.add(user)
        extra = doc.model_dump(include=set(CALENDAR_FIELDS), exclude_unset=True)
        team = tuple(m.model_dump(exclude_none=True) for m in doc.teamMembers)
        self.plan.calendars.append(
            (
                Calendar(
                    location_id=location_id,
                    id=calendar_id,
                    name=doc.name,
                    description=doc.description,
                    group_id=doc.groupId or None,
                    is_active=doc.isActive,
                    calendar_type=doc.calendarType,
                    slug=doc.slug if doc.slug is not None else slugify(doc.name),
                    team_members=team,
                    extra=extra,
                ),
                path,
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
            **{name: getattr(doc, name) for name in TEXT_FIELDS},
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
            self.plan.blocks.append((block, path))
            return
        limits = self.limits
        try:  # as an API write checks it: the same work budget and exception cap
            rule = recurrence.parse_rule(
                doc.rrule,
                start_ms=block.start_ms,
                zone_name=block.timezone,
                max_count=limits.max_count,
                work=limits.work,
                max_exdates=limits.max_exceptions,
            )
            last = recurrence.last_start(rule, block.start_ms, block.timezone, limits.work)
        except RecurrenceError as exc:
            self.problem(f"{path}.rrule", str(exc))
            return
        block = replace(block, rrule=rule.text, last_start_ms=last)
        overrides = [self.instance(block, doc, index, path) for index in range(len(doc.instances))]
        kept = tuple(o for o in overrides if o is not None)
        if len({o.original_start_ms for o in kept}) < len(kept):
            self.problem(f"{path}.instances", "an occurrence is edited twice")
        if len(rule.exdates) + len(kept) > limits.max_exceptions:
            self.problem(
                path,
                f"a series may hold at most {limits.max_exceptions} exceptions "
                "(EXDATEs plus edited instances)",
            )
        self.plan.blocks.append((replace(block, overrides=kept), path))

    def instance(self, block: Block, doc: BlockDoc, index: int, path: str) -> Override | None:
        item = doc.instances[index]
        where = f"{path}.instances[{index}]"
        original = self.instant(item.originalStartTime, f"{where}.originalStartTime")
        if original is None:
            return None
        try:
            found = recurrence.occurrences(
                series_of(block), original, original, 1, Budget(self.limits.work)
            )
        except RecurrenceError as exc:
            self.problem(f"{where}.originalStartTime", str(exc))
            return None
        if found != [original]:
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
        return Override(original_start_ms=original, start_ms=start, end_ms=end, fields=fields)

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
        info = TokenInfo(
            id=token_id,
            location_id=location_id,
            name=doc.name,
            scopes=scopes,
            created_ms=self.now,
            revoked_ms=revoked,
            expires_ms=doc.expiresAt,
        )
        self.plan.tokens.append((info, digest, path))

    def feed(self, location_id: str, doc: FeedDoc, path: str, targets: dict[str, set[str]]) -> None:
        feed_id = self.chosen_id(doc.id, f"{path}.id", self._feed_ids)
        digest = self.token_hash(doc, path)
        given = [
            (kind, value)
            for kind, value in (
                ("calendar", doc.calendarId),
                ("user", doc.userId),
                ("group", doc.groupId),
            )
            if value is not None
        ]
        if len(given) != 1:
            self.problem(path, "exactly one of calendarId, userId or groupId is required")
            return
        kind, target_id = given[0]
        if target_id not in targets[kind]:
            self.problem(path, f"{kind} {target_id} is not in this location")
        if digest is None:
            return
        if digest in self._feed_hashes:
            self.problem(path, "the same feed token is given twice")
        self._feed_hashes.add(digest)
        feed = Feed(
            id=feed_id,
            location_id=location_id,
            target_kind=cast(TargetKind, kind),
            target_id=target_id,
            busy_only=doc.busyOnly,
            include_connected=doc.includeConnected,
            name=doc.name,
            created_ms=self.now,
            revoked_ms=self.now if doc.revoked else None,
        )
        self.plan.feeds.append((feed, digest, path))

    def connection(
        self, location_id: str, doc: ConnectionDoc, path: str, users: set[str], seen: set[str]
    ) -> None:
        connection_id = self.chosen_id(doc.id, f"{path}.id", seen)
        if doc.userId not in users:
            self.problem(f"{path}.userId", f"no user {doc.userId} in this location")
        body = ConnectionInput(
            location_id=location_id,
            user_id=doc.userId,
            url=doc.url,
            kind=doc.type,
            source=doc.source,
            busy_only=doc.busyOnly,
            username=doc.username,
            password=doc.password,
        )
        try:
            new = self.limits.connections.new(body, self.now, connection_id)
        except SlotblockError as exc:
            self.problem(path, exc.message)
            return
        self.plan.connections.append((new, path))

    def token_hash(self, doc: TokenDoc | FeedDoc, path: str) -> str | None:
        if (doc.token is None) == (doc.tokenHash is None):
            self.problem(path, "exactly one of token or tokenHash is required")
        elif doc.token is not None and not _TOKEN.fullmatch(doc.token):
            self.problem(f"{path}.token", "must be 8-512 printable characters without spaces")
        elif doc.tokenHash is not None and not _HASH.fullmatch(doc.tokenHash):
            self.problem(f"{path}.tokenHash", "must be 64 lowercase hex digits (SHA-256)")
        else:
            return hash_token(doc.token) if doc.token is not None else doc.tokenHash
        return None


BUSY = "writes kept the database busy; retry the reset or load"


class FixtureService:
    """Reset, load and export; `forget` drops what this process cached of stored data.

    A reset or a load runs while no writer is half-way (`admin_store.lock_out_writers`):
    writers that come meanwhile wait for it, then find its result (404 for what it
    emptied). When writers keep the tables busy for `deadline_seconds` it gives up: 409,
    nothing changed."""

    def __init__(
        self,
        store: Store,
        limits: RuleLimits,
        clock: Callable[[], int],
        forget: Callable[[], None] = lambda: None,
        deadline_seconds: float = 5.0,
    ) -> None:
        self.store = store
        self.limits = limits
        self.clock = clock
        self.forget = forget
        self.deadline_seconds = deadline_seconds

    async def reset(self, location_id: str | None = None) -> None:
        """Empty the database (admin tokens kept), or one location (404 if there is none)."""

        async def attempt() -> bool | None:
            async with self.store.begin() as conn:
                if not await admin_store.lock_out_writers(conn):
                    return None
                if location_id is None:
                    await admin_store.delete_everything(conn)
                elif not await admin_store.delete_location(conn, location_id):
                    raise NotFound(f"location {location_id} not found")
            return True

        await until_written(attempt, self.deadline_seconds, BUSY)
        self.forget()

    async def load_text(self, text: bytes | str) -> dict[str, Any]:
        data = await anyio.to_thread.run_sync(_parsed, text)
        return await self.load(data)

    async def load(self, data: Any) -> dict[str, Any]:
        """Store the document's state, or change nothing and raise InvalidInput listing
        every problem as `<JSON path>: <message>`. Returns what was loaded."""
        # Checking shapes and rules is CPU work that grows with the document: off the loop.
        plan, now, clock = await anyio.to_thread.run_sync(_planned, data, self.limits, self.clock())
        try:
            await self._store(plan, now, clock, one_by_one=False)
        except _REFUSED as exc:
            if is_outage(exc):
                raise
            # Which row? A batch does not say: again, row by row, naming the one refused.
            await self._store(plan, now, clock, one_by_one=True)
        self.forget()
        return plan.counts() | ({"clock": clock.now_ms} if clock is not None else {})

    async def _store(
        self, plan: _Plan, now: int, clock: ClockSetting | None, *, one_by_one: bool
    ) -> None:
        async def attempt() -> bool | None:
            async with self.store.begin() as conn:
                if not await admin_store.lock_out_writers(conn):
                    return None
                taken = await _taken(conn, plan)
                if taken:
                    raise InvalidInput(*taken)
                await _write(conn, plan, now, one_by_one=one_by_one)
                if clock is not None:
                    await clock_store.write_setting(conn, clock)
            return True

        await until_written(attempt, self.deadline_seconds, BUSY)

    async def export(self, location_id: str | None = None) -> dict[str, Any]:
        """The state of one location, or of all (with the clock, when one is set), as a
        fixture document."""
        async with self.store.read() as conn:
            if location_id is not None:
                return {"locations": [await _export_location(conn, location_id)]}
            ids = await admin_store.location_ids(conn)
            document: dict[str, Any] = {"locations": [await _export_location(conn, i) for i in ids]}
            document |= await fixture_oauth.export(conn)
            clock = await clock_store.read_setting(conn)
        if clock is not None:
            now = iso_utc(clock.at(wall_clock_ms()))
            document["clock"] = {"now": now, **({"frozen": True} if clock.frozen else {})}
        return document

    async def export_oauth(self) -> dict[str, Any]:
        """The stored companies and apps, as a fixture document has them."""
        async with self.store.read() as conn:
            return await fixture_oauth.export(conn)


def _clock_setting(doc: FixtureDoc) -> tuple[ClockSetting | None, list[str]]:
    """The document's clock, from now on (or the problem with it)."""
    if doc.clock is None:
        return None, []
    try:
        now = parse_instant(doc.clock.now)
    except ValueError as exc:
        return None, [f"$.clock.now: {exc}"]
    return ClockSetting(now, wall_clock_ms(), doc.clock.frozen), []


def _parsed(text: bytes | str) -> Any:
    try:
        return parse_text(text)
    except ValueError as exc:
        raise InvalidInput(f"$: {exc}") from exc


def _planned(data: Any, limits: RuleLimits, now: int) -> tuple[_Plan, int, ClockSetting | None]:
    """The rows of a valid document, its "now" and its clock; InvalidInput listing every
    problem otherwise."""
    doc, problems = shape_problems(data)
    if doc is None:
        raise InvalidInput(*problems)
    clock, problems = _clock_setting(doc)
    now = now if clock is None else clock.now_ms
    builder = _Builder(limits, now)
    builder.problems += problems
    builder.document(doc)
    builder.plan.oauth = fixture_oauth.plan(doc, builder.problem)
    if builder.problems:
        raise InvalidInput(*builder.problems)
    return builder.plan, now, clock


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
    feed_ids, feed_hashes = await admin_store.taken_feeds(
        conn, [f.id for f, _, _ in plan.feeds], [h for _, h, _ in plan.feeds]
    )
    for feed, digest, path in plan.feeds:
        if feed.id in feed_ids:
            problems.append(f"{path}.id: feed id {feed.id} already exists")
        if digest in feed_hashes:
            problems.append(f"{path}: this feed token already exists")
    new_locations = {location.id for location, _ in plan.locations}
    return problems + await fixture_oauth.taken(conn, plan.oauth, new_locations)


# What the database may refuse of a row the checks above let through: a key or reference
# taken or gone meanwhile (a concurrent load), or a constraint of its own.
# (A lock timeout, a serialisation failure or an outage is not a refusal of the row.)
_REFUSED = (sa.exc.IntegrityError, sa.exc.DataError, AlreadyExists, ReferenceMissing)
Step = Callable[[AsyncConnection], Awaitable[None]]


def _refusal(exc: Exception) -> str:
    if isinstance(exc, AlreadyExists):
        return "is already stored"
    if isinstance(exc, ReferenceMissing):
        return "refers to a record that is not stored"
    if isinstance(exc, sa.exc.IntegrityError):
        return "is refused by a constraint of the database"
    return "is refused by the database (a value too long, out of range, or not storable)"


def _steps(plan: _Plan, now: int, *, one_by_one: bool) -> list[tuple[str, Step]]:
    """Every row to write, in an order that respects references, with its JSON path; the
    blocks in one batch unless `one_by_one`."""
    steps = [(path, _step(directory.insert_location, loc, now)) for loc, path in plan.locations]
    steps += [(path, _step(directory.insert_user, *user, now)) for user, path in plan.users]
    steps += [(path, _step(directory.insert_group, g, now)) for g, path in plan.groups]
    steps += [(path, _step(directory.insert_calendar, c, now)) for c, path in plan.calendars]
    if one_by_one:
        steps += [(path, _step(block_store.insert_blocks, [b])) for b, path in plan.blocks]
    else:
        steps.append(("$", _step(block_store.insert_blocks, [b for b, _ in plan.blocks])))
    steps += [(path, _step(_insert_token, info, digest)) for info, digest, path in plan.tokens]
    steps += [(path, _step(feed_store.insert_feed, f, digest)) for f, digest, path in plan.feeds]
    steps += [
        (path, _step(connection_store.insert, new.connection, new.secret, new.address))
        for new, path in plan.connections
    ]
    return steps


def _step(write: Callable[..., Awaitable[None]], *args: Any) -> Step:
    return lambda conn: write(conn, *args)


async def _insert_token(conn: AsyncConnection, info: TokenInfo, digest: str) -> None:
    await token_store.insert_token(conn, info, digest)
    if info.revoked_ms is not None:
        await token_store.revoke(conn, info.id, info.revoked_ms)


async def _write(conn: AsyncConnection, plan: _Plan, now: int, *, one_by_one: bool) -> None:
    """The plan's rows: blocks in one batch, or (`one_by_one`) each row alone, a refused
    row raising InvalidInput with its JSON path (the transaction then rolls back)."""
    for path, step in _steps(plan, now, one_by_one=one_by_one):
        try:
            await step(conn)
        except _REFUSED as exc:
            if not one_by_one or is_outage(exc):
                raise
            raise InvalidInput(f"{path}: {_refusal(exc)}") from exc
    await fixture_oauth.write(conn, plan.oauth, now)
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
        # a connected calendar's blocks are not exported: its next sync brings them back
        if found is not None and found[0].connection_id is None:
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
        "feeds": await _feed_docs(conn, location_id),
        "connections": [
            _connection_doc(c) for c in await connection_store.list_of(conn, location_id)
        ],
    }


def _connection_doc(connection: Connection) -> dict[str, Any]:
    """A connection without its credentials, its address redacted (neither is exported:
    give them again to load it)."""
    return {
        "id": connection.id,
        "userId": connection.user_id,
        "url": connection.url,
        "type": connection.kind,
        "source": connection.source,
        "busyOnly": connection.busy_only,
    }


# Groups and calendars are written as the API answers them (core/wire.py), but for
# `locationId`, which the document says once, by nesting them in their location.


def _group_doc(group: Group) -> dict[str, Any]:
    doc = group_json(group)
    del doc["locationId"]
    return doc


def _calendar_doc(calendar: Calendar) -> dict[str, Any]:
    doc = calendar_json(calendar)
    del doc["locationId"]
    doc["groupId"] = calendar.group_id  # null without a group (the API answers the platform's "")
    return doc


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
        **{n: v for n in TEXT_FIELDS if (v := getattr(block, n)) or n == _ALWAYS_WRITTEN},
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
    if info.expires_ms is not None:
        doc["expiresAt"] = info.expires_ms
    return doc


async def _feed_docs(conn: AsyncConnection, location_id: str) -> list[dict[str, Any]]:
    hashes = await admin_store.feed_hashes(conn, location_id)
    docs = []
    for feed in await feed_store.list_feeds(conn, location_id):
        target = {"calendar": "calendarId", "user": "userId", "group": "groupId"}
        doc: dict[str, Any] = {"id": feed.id, target[feed.target_kind]: feed.target_id}
        doc |= {"busyOnly": feed.busy_only, "includeConnected": feed.include_connected}
        doc |= {"name": feed.name, "tokenHash": hashes[feed.id]}
        if feed.revoked_ms is not None:
            doc["revoked"] = True
        docs.append(doc)
    return sorted(docs, key=lambda d: str(d["id"]))
