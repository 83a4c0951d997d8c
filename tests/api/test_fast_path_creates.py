"""A calendar's create in one statement against the two statements it replaces, on PostgreSQL.

On PostgreSQL a calendar's block is created by one statement that holds the calendar, reads
its group and inserts the block (store/block_create.py); the path before it, which user-level
creates and SQLite still take, holds the calendar (locks.hold_calendar_group) and then
inserts. Two apps, each on its own copy of the same starting data (one database seeded, the
other made from it as a template: the same ids, tokens and webhook subscription), serve
the same requests; one takes the one statement, the other the two, switched as
bench/in_process.py switches them: `block_create.one_statement`, which service/blocks.py
asks on each create, answers False for the two-statement app's engine. That the switch took
effect is checked too (only the one-statement app ran the statement, and only the other app
held the calendar on its own).

Every answer is compared: status, every header (ETag, rate limits, Retry-After...) and the
body, byte for byte, and then the whole stored state of both databases (blocks, change rows,
change counters, webhook outbox, stored Idempotency-Key answers, data versions: every table
but the request log). Both apps tell the same time (one settable clock, moved on after each
request), so timestamps are equal as they are. What legitimately differs is a new block's
id (random): the first time an id appears in a 201 of each app, the two are paired, and
from then on the two-statement app's id is read as its pair everywhere (in answers, in
stored rows, in the paths of later requests to that app); an id may be paired once only,
so a replay that answered a fresh block, or a create that wrote a block on one side only,
fails. One consequence of random ids: a calendar's move logs its blocks in the order of
their ids, so the change rows written at one instant are compared as a set, with the same
change numbers (a create writes one row, which keeps its number). A refused request must
leave both databases as they were (no block, no change row, no change number taken, no
outbox row).

The requests: one-off and recurring creates of calendars and users; an Idempotency-Key's
first use, replay (spelled otherwise too), conflicting reuse (422), a key first refused
then used, and a key reused once it has expired; a calendar that does not exist or is in
another location (404), another or an unknown location (403), invalid bodies (400, 422),
tokens without the events' write scope, of another location or unknown (401, 403) and one
without calendars.write (it may create); a calendar moved to another group and one deleted
between creates; then bodies and headers drawn by Hypothesis. Failures (each app reaches
its database through its own TCP proxy): the database refused (503 with the configured
Retry-After, nothing written, and creates work again after), a restart (open connections
reset), the app's connections killed by the server, the connection cut in the middle of a
create, right after its calendar was held and after its change row was written (503,
nothing written). Then a calendar held FOR UPDATE by another transaction: past
lock_timeout the create has lost to a concurrent write (409, slotblock's contention
answer); deleted by the transaction the create waited for (404, nothing written); released
(201). Both databases run with a lock_timeout, as a deployment may set one; with none a
create waits instead, and its 409 would need a deadlock or a serialization failure, which
this test does not provoke.

SQLite has a single path: `one_statement` is False there (its driver runs in process, so
there is no round trip to save), and the one statement cannot run on it (SQLite has no
INSERT inside a WITH). Its creates take the two statements either way; nothing to compare.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import anyio.from_thread
import anyio.to_thread
import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection

from slotblock.config import Settings
from slotblock.core.isotime import format_ms, zone
from slotblock.core.model import EVENTS_WRITE, SCOPES
from slotblock.service.calendars import CalendarInput, GroupInput
from slotblock.service.container import build_services
from slotblock.service.idempotency import REUSED
from slotblock.store import Store, block_create, open_store
from slotblock.store.tables import block_changes
from tests.api.tcp_proxy import TcpProxy
from tests.api.test_fast_path_differential import (
    ALL_ON,
    DAY,
    RETRY_AFTER,
    RULES,
    T0,
    App,
    app_settings,
    iso,
    serving,
)
from tests.conftest import (
    PG_URL,
    Clock,
    Tenant,
    _migrate,
    _pg_admin,
    _pg_execute,
    make_tenant,
    pg_url,
    snapshot,
)

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

NOW = 1_700_000_000_000
UTC = zone("UTC")
HOUR = 3_600_000
LOCK_TIMEOUT_MS = 1_000  # both databases' lock_timeout: a create held longer loses (409)
EXAMPLES = 40  # Hypothesis examples (each one to three requests)
PATH = "/calendars/events/block-slots"
HELD = "WITH held AS"  # how the one statement starts
HOLD = "SELECT calendars.group_id"  # how locks.hold_calendar_group's statement starts
ONE, TWO = "one statement", "two statements"


# --- the starting data ----------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """What the requests refer to (the same ids in both databases)."""

    t: Tenant
    other: Tenant  # another location, with its own calendar, user and token
    group_b: str
    calendar_b: str  # in group_b; moved to t's group and back between creates
    calendar_gone: str  # deleted between creates
    calendar_raced: str  # deleted by the transaction a create waits for
    no_write_token: str  # every scope but the events' write
    events_only_token: str  # the events' write scope alone (no calendars.write)


async def seed(url: str, clock: Clock) -> World:
    store = open_store(url, pool_size=1)
    try:
        allowed = Settings(database_url=url, outbound_allow_networks="127.0.0.0/8")
        services = build_services(store, allowed, clock)
        t = await make_tenant(services)
        other = await make_tenant(services, "America/New_York")
        group = await services.calendars.add_group(t.location_id, GroupInput(name="B"))
        calendars = [
            await services.calendars.add_calendar(
                t.location_id, CalendarInput(name=name, group_id=group_id)
            )
            for name, group_id in (("B", group.id), ("gone", t.group_id), ("raced", None))
        ]
        scopes = tuple(s for s in SCOPES if s != EVENTS_WRITE)
        no_write, _ = await services.tenants.create_token(t.location_id, scopes, "no write")
        only, _ = await services.tenants.create_token(t.location_id, (EVENTS_WRITE,), "events")
        # creates queue a webhook delivery per subscription that wants them
        await services.webhooks.add(t.location_id, "http://127.0.0.1:9/all")
        await services.webhooks.add(t.location_id, "http://127.0.0.1:9/no", ["BlockedSlotDelete"])
        b, gone, raced = (c.id for c in calendars)
        return World(t, other, group.id, b, gone, raced, no_write, only)
    finally:
        await store.dispose()


# --- the two apps ---------------------------------------------------------------------------


@dataclass
class Side:
    """One app, behind its own proxy, with a direct store of its database for the state."""

    name: str
    app: App
    proxy: TcpProxy
    database: str
    store: Store
    statements: list[str] = field(default_factory=list)  # every statement its engine sent
    cut_after: str | None = None  # a statement prefix: the proxy cuts once it has run

    @property
    def engine(self) -> sa.Engine:
        return self.app.services.store.engine.sync_engine

    def watch(self) -> None:
        def after(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            self.statements.append(statement)
            if self.cut_after is not None and statement.startswith(self.cut_after):
                self.cut_after = None
                self.proxy.cut()  # the statement ran; the connection is reset before the next

        sa.event.listen(self.engine, "after_cursor_execute", after)

    async def state(self, rename: Callable[[str], str]) -> dict[str, Any]:
        rows = await snapshot(self.store)
        out: dict[str, Any] = {
            table: sorted(tuple(rename(cell) for cell in row) for row in found)
            for table, found in rows.items()
        }
        out[block_changes.name] = by_instant(out[block_changes.name])
        return out


_SEQ, _AT = (list(block_changes.c.keys()).index(name) for name in ("seq", "changed_ms"))


def by_instant(rows: list[tuple[str, ...]]) -> list[tuple[str, list[int], list[Any]]]:
    """Change rows by the instant they were written at (each request has its own), each
    instant's change numbers and rows apart: a calendar's move logs its blocks in the
    order of their ids, which are random, so the numbers of one write are compared as a
    set (a block's create, one row, keeps its number)."""
    instants: dict[str, tuple[list[int], list[Any]]] = {}
    for row in rows:
        seqs, kept = instants.setdefault(row[_AT], ([], []))
        seqs.append(int(row[_SEQ]))
        kept.append(row[:_SEQ] + row[_SEQ + 1 :])
    return [(at, sorted(seqs), sorted(kept)) for at, (seqs, kept) in sorted(instants.items())]


@dataclass(frozen=True)
class Call:
    """A request, in the one-statement app's terms (its ids in path and body)."""

    method: str
    path: str
    body: Any = None
    raw: bytes | None = None  # sent as is (not JSON)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Pair:
    fast: Side
    slow: Side  # the two statements
    world: World
    clock: Clock
    ids: dict[str, str] = field(default_factory=dict)  # the slow app's id -> the fast app's

    def from_slow(self, text: str) -> str:
        for slow_id, fast_id in self.ids.items():
            text = text.replace(slow_id, fast_id)
        return text

    def to_slow(self, text: str) -> str:
        for slow_id, fast_id in self.ids.items():
            text = text.replace(fast_id, slow_id)
        return text

    async def send_to(
        self, side: Side, call: Call, translate: Callable[[str], str]
    ) -> httpx.Response:
        content = call.raw
        if content is None and call.body is not None:
            content = translate(json.dumps(call.body)).encode()
        headers = {"Content-Type": "application/json", **call.headers} if content else call.headers
        path = translate(call.path)
        return await side.app.client.request(call.method, path, content=content, headers=headers)

    async def send(self, call: Call) -> tuple[httpx.Response, httpx.Response]:
        """The call to each app, at one instant; the clock moves on after."""
        fast = await self.send_to(self.fast, call, lambda text: text)
        slow = await self.send_to(self.slow, call, self.to_slow)
        self.clock.now_ms += 1_000
        return fast, slow

    async def same(self, call: Call) -> httpx.Response:
        """The call to both apps: the same answer (new ids paired); the fast app's answer."""
        return self.compare(call, *await self.send(call))

    def compare(self, call: Call, fast: httpx.Response, slow: httpx.Response) -> httpx.Response:
        what = (call.method, call.path, call.body, fast.text[:300], slow.text[:300])
        assert fast.status_code == slow.status_code, what
        if fast.status_code == 201 and call.method == "POST" and call.path == PATH:
            self._pair(fast.json()["id"], slow.json()["id"], what)
        slow_headers = [(k, self.from_slow(v)) for k, v in self._headers(slow)]
        assert self._headers(fast) == slow_headers, what
        assert fast.text == self.from_slow(slow.text), what
        return fast

    @staticmethod
    def _headers(response: httpx.Response) -> list[tuple[str, str]]:
        return response.headers.multi_items()

    def _pair(self, fast_id: str, slow_id: str, what: object) -> None:
        if slow_id in self.ids:  # a replay: the block answered first on each side
            assert self.ids[slow_id] == fast_id, what
            return
        assert fast_id not in self.ids.values() and fast_id != slow_id, what
        self.ids[slow_id] = fast_id

    async def states(self) -> tuple[Any, Any]:
        return await self.fast.state(lambda v: v), await self.slow.state(self.from_slow)

    async def same_state(self) -> None:
        fast, slow = await self.states()
        for table in fast:
            assert fast[table] == slow[table], table

    async def refused(self, call: Call, status: int) -> httpx.Response:
        """The same refusal (or replay) from both apps, and neither database changed."""
        before = await self.states()
        answer = await self.same(call)
        assert answer.status_code == status, (call, answer.text[:300])
        after = await self.states()
        assert after == before, call
        return answer

    async def created(self, call: Call) -> dict[str, Any]:
        answer = await self.same(call)
        assert answer.status_code == 201, (call, answer.text[:300])
        await self.same_state()
        found: dict[str, Any] = answer.json()
        return found


def _database_name() -> str:
    return f"slotblock_test_{secrets.token_hex(4)}"


@contextmanager
def proxied(database: str) -> Iterator[tuple[TcpProxy, str]]:
    with TcpProxy(sa.make_url(PG_URL).port or 5432) as proxy:
        url = sa.make_url(pg_url(database)).set(host="127.0.0.1", port=proxy.port)
        yield proxy, url.render_as_string(hide_password=False)


@pytest.fixture
async def pair(pg_template: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Pair]:
    """Two databases with the same data; the one-statement app on the first, the
    two-statement app on the second, each behind its own proxy, both on one clock."""
    del pg_template  # its fixture checks that a server answers (a failure in CI)
    fast_db, slow_db = _database_name(), _database_name() + "_two"
    clock = Clock(NOW)
    await _pg_execute(f'CREATE DATABASE "{fast_db}"')
    try:
        await _migrate(pg_url(fast_db))
        world = await seed(pg_url(fast_db), clock)
        await _pg_execute(f'CREATE DATABASE "{slow_db}" TEMPLATE "{fast_db}"')
        for name in (fast_db, slow_db):
            await _pg_execute(f"ALTER DATABASE \"{name}\" SET lock_timeout = '{LOCK_TIMEOUT_MS}'")
        async with AsyncExitStack() as stack:
            sides = []
            for name, database in ((ONE, fast_db), (TWO, slow_db)):
                proxy, url = stack.enter_context(proxied(database))
                app = await stack.enter_async_context(serving(app_settings(url, ALL_ON)))
                app.app.state.clock.real = clock  # every "now" of the app's services
                store = open_store(pg_url(database), pool_size=1)
                stack.push_async_callback(store.dispose)
                sides.append(Side(name, app, proxy, database, store))
            fast, slow = sides
            for side in sides:
                side.watch()
            two = slow.engine
            one_statement = block_create.one_statement
            monkeypatch.setattr(
                block_create,
                "one_statement",
                lambda conn: one_statement(conn) and _sync_engine(conn) is not two,
            )
            yield Pair(fast, slow, world, clock)
    finally:
        await _pg_execute(
            *(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in (slow_db, fast_db))
        )


def _sync_engine(conn: AsyncConnection) -> sa.Engine:
    return conn.engine.sync_engine


def check_switched(p: Pair) -> None:
    """Only the fast app ran the one statement; only the other held the calendar alone."""
    assert any(s.startswith(HELD) for s in p.fast.statements)
    assert not any(s.startswith(HOLD) for s in p.fast.statements)
    assert any(s.startswith(HOLD) for s in p.slow.statements)
    assert not any(s.startswith(HELD) for s in p.slow.statements)


# --- requests -------------------------------------------------------------------------------


def headers(token: str, key: str | None = None, request_id: str = "create") -> dict[str, str]:
    out = {"Authorization": f"Bearer {token}", "Version": "2021-07-28", "X-Request-Id": request_id}
    if key is not None:
        out["Idempotency-Key"] = key
    return out


def create(w: World, key: str | None = None, **body: Any) -> Call:
    """A create of t's calendar (unless the body names an owner), an hour long."""
    payload = {"locationId": w.t.location_id, **body}
    if "assignedUserId" not in body and "calendarId" not in body:
        payload["calendarId"] = w.t.calendar_id
    payload.setdefault("startTime", iso(T0 + 10 * HOUR))
    payload.setdefault("endTime", iso(T0 + 11 * HOUR))
    return Call("POST", PATH, payload, headers=headers(w.t.token, key))


def without(call: Call, *names: str) -> Call:
    return replace(call, body={k: v for k, v in call.body.items() if k not in names})


# --- 1. the same answers and the same writes ------------------------------------------------


async def test_creates_answer_and_write_as_the_two_statements(pair: Pair) -> None:
    p, w = pair, pair.world
    await plain_creates(p, w)
    keyed, first = await idempotency_keys(p, w)
    await refusals(p, w)
    await moved_and_deleted_calendars(p, w)
    # a key kept past its period is a new create
    p.clock.now_ms += 25 * HOUR
    again = await p.created(keyed)
    assert again["id"] != first["id"]
    # then what Hypothesis draws
    seen: set[int] = set()
    await anyio.to_thread.run_sync(explore, p, EXAMPLES, seen)
    assert {201, 400, 404, 422} <= seen, seen
    await p.same_state()
    check_switched(p)


async def plain_creates(p: Pair, w: World) -> None:
    """One-off and recurring, calendars' and users'."""
    t = w.t
    await p.created(create(w, title="one-off"))
    await p.created(create(w, title="weekly", rrule="RRULE:FREQ=WEEKLY;COUNT=5"))
    exdate = "EXDATE:" + "20230403T043000Z"
    await p.created(create(w, rrule=["RRULE:FREQ=DAILY;COUNT=9", exdate], description="d"))
    await p.created(create(w, calendarId=w.calendar_b, notes="group B"))
    await p.created(create(w, assignedUserId=t.user_id, title="user"))
    await p.created(create(w, assignedUserId=t.user_id, rrule="RRULE:FREQ=DAILY;INTERVAL=2"))
    check_switched(p)


async def idempotency_keys(p: Pair, w: World) -> tuple[Call, dict[str, Any]]:
    """A key's first use, replays (the same body spelled otherwise too), conflicting reuse,
    a key first refused then used; the first keyed create and its answer."""
    t = w.t
    keyed = create(w, key="key-1", title="keyed", address="here")
    first = await p.created(keyed)
    replayed = await p.refused(keyed, 201)
    assert replayed.json() == first and replayed.headers["etag"] == '"1"'
    respelled = replace(
        keyed, raw=json.dumps(dict(reversed(keyed.body.items())), indent=1).encode()
    )
    assert (await p.refused(respelled, 201)).json() == first
    reused = await p.refused(replace(keyed, body={**keyed.body, "title": "other"}), 422)
    assert reused.json()["message"] == [REUSED]
    await p.created(replace(keyed, headers=headers(t.token, "key-2")))  # another key
    await p.refused(create(w, key="x" * 256), 400)  # too long
    await p.refused(create(w, key="key-3", calendarId="unknownCalendar00000"), 404)
    await p.created(create(w, key="key-3"))  # a refused create did not take the key
    return keyed, first


async def refusals(p: Pair, w: World) -> None:
    """Calendars and users that do not exist here, other locations; invalid bodies,
    headers and tokens."""
    t = w.t
    missing = await p.refused(create(w, calendarId="unknownCalendar00000"), 404)
    assert missing.json()["message"] == "Calendar not found"
    await p.refused(create(w, calendarId=w.other.calendar_id), 404)
    await p.refused(create(w, key="key-4", calendarId=w.other.calendar_id), 404)
    await p.refused(create(w, assignedUserId="unknownUser000000000"), 404)
    await p.refused(create(w, assignedUserId=w.other.user_id), 404)
    await p.refused(create(w, locationId=w.other.location_id), 403)
    await p.refused(create(w, locationId=w.other.location_id, calendarId=w.other.calendar_id), 403)
    await p.refused(create(w, locationId="unknownLocation00000", key="key-5"), 403)
    valid = create(w, title="valid")
    await p.refused(without(valid, "startTime"), 400)
    await p.refused(without(valid, "locationId"), 400)
    await p.refused(create(w, endTime=iso(T0 + 9 * HOUR)), 422)  # before its start
    await p.refused(create(w, startTime="yesterday"), 400)
    await p.refused(create(w, rrule="RRULE:FREQ=NEVER"), 422)
    await p.refused(create(w, rrule="RRULE:FREQ=DAILY;COUNT=100000"), 422)
    await p.refused(create(w, assignedUserId=t.user_id, calendarId=t.calendar_id), 400)
    await p.refused(create(w, calendarId="not an id!"), 404)  # any text may name one
    await p.refused(create(w, colour="red"), 400)
    await p.refused(replace(valid, raw=b'{"locationId": '), 400)
    await p.refused(replace(valid, headers=headers(w.no_write_token)), 401)
    await p.refused(replace(valid, headers=headers(w.no_write_token, "key-6")), 401)
    await p.refused(replace(valid, headers=headers(w.other.token)), 403)
    await p.created(replace(valid, headers=headers(w.events_only_token)))  # no calendars.write
    await p.refused(replace(valid, headers=headers("pit-not-a-token")), 401)
    await p.refused(replace(valid, headers=without_header(valid.headers, "Version")), 401)


async def moved_and_deleted_calendars(p: Pair, w: World) -> None:
    """A calendar moved to another group between creates, and back; one deleted."""
    t = w.t
    await p.created(create(w, calendarId=w.calendar_b))
    for group in (t.group_id, w.group_b):
        body = {"groupId": group}
        moved = await p.same(
            Call("PUT", f"/calendars/{w.calendar_b}", body, headers=headers(t.token))
        )
        assert moved.status_code == 200, moved.text
        assert (await p.created(create(w, calendarId=w.calendar_b)))["groupId"] == group
    gone = await p.created(create(w, calendarId=w.calendar_gone))
    deleted = await p.same(
        Call("DELETE", f"/calendars/events/{gone['id']}", {}, headers=headers(t.token))
    )
    assert deleted.status_code == 201, deleted.text  # as the platform answers
    removed = await p.same(
        Call("DELETE", f"/calendars/{w.calendar_gone}", headers=headers(t.token))
    )
    assert removed.status_code == 200, removed.text
    await p.refused(create(w, calendarId=w.calendar_gone), 404)
    await p.refused(create(w, key="key-7", calendarId=w.calendar_gone), 404)


def without_header(given: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in given.items() if k != name}


OWNERS: tuple[Callable[[World], dict[str, Any]], ...] = (
    lambda w: {"calendarId": w.t.calendar_id},
    lambda w: {"calendarId": w.t.calendar_id},
    lambda w: {"calendarId": w.t.calendar_id},
    lambda w: {"calendarId": w.calendar_b},
    lambda w: {"calendarId": w.calendar_b},
    lambda w: {"assignedUserId": w.t.user_id},
    lambda w: {"assignedUserId": w.t.user_id},
    lambda w: {"calendarId": w.calendar_gone},  # deleted by then
    lambda w: {"calendarId": w.other.calendar_id},
    lambda _: {"calendarId": "unknownCalendar00000"},
    lambda _: {"assignedUserId": "unknownUser000000000"},
)
RULE_CHOICES = (
    None,
    None,
    None,
    None,
    *RULES,
    ["RRULE:FREQ=DAILY;COUNT=4", "EXDATE:20230405T043000Z"],
)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=12)


def _spoiled(body: dict[str, Any], w: World) -> list[Callable[[], object]]:
    """One way each to spoil a valid body: the answer is then a refusal, of the same kind
    on both paths."""
    return [
        lambda: body.update(calendarId=w.t.calendar_id, assignedUserId=w.t.user_id),
        lambda: body.pop("calendarId", None) and body.pop("assignedUserId", None),
        lambda: body.update(calendarId=None),
        lambda: body.update(locationId=w.other.location_id),
        lambda: body.update(locationId="unknownLocation00000"),
        lambda: body.pop("locationId"),
        lambda: body.update(endTime=body["startTime"]),
        lambda: body.pop("endTime"),
        lambda: body.update(startTime=str(T0)),
        lambda: body.update(rrule="RRULE:FREQ=NEVER"),
        lambda: body.update(rrule="RRULE:FREQ=DAILY;COUNT=5000"),
        lambda: body.update(rrule=""),
        lambda: body.update(title=7),
        lambda: body.update(extra=1),
    ]


@st.composite
def drawn_calls(draw: st.DrawFn, w: World) -> list[Call]:
    """A create (spoiled one way in three), perhaps followed by the same again (a replay
    when it has an Idempotency-Key) or by its key with another body."""
    t = w.t
    body: dict[str, Any] = {"locationId": t.location_id, **draw(st.sampled_from(OWNERS))(w)}
    start = T0 + draw(st.integers(-3, 60)) * draw(st.sampled_from((60_000, HOUR, DAY)))
    length = draw(st.sampled_from((60_000, 1_800_000, HOUR, DAY)))
    spell = draw(st.sampled_from((iso, iso, lambda ms: format_ms(ms, UTC))))
    body.update(startTime=spell(start), endTime=spell(start + length))
    if (rule := draw(st.sampled_from(RULE_CHOICES))) is not None:
        body["rrule"] = rule
    for name in ("title", "description", "notes", "address"):
        if (text := draw(st.none() | TEXT)) is not None:
            body[name] = text
    if draw(st.integers(0, 2)) == 0:
        draw(st.sampled_from(_spoiled(body, w)))()
    token = draw(st.sampled_from((t.token,) * 8 + (w.no_write_token, w.other.token)))
    key = draw(st.none() | st.integers(0, 99).map(lambda n: f"drawn-{n}"))
    call = Call("POST", PATH, body, headers=headers(token, key, f"drawn-{draw(st.integers(0, 9))}"))
    follow = draw(st.sampled_from(("", "", "again", "other")))
    if follow == "again":
        return [call, call]
    if follow == "other":
        return [call, replace(call, body={**body, "title": "another body"})]
    return [call]


def explore(p: Pair, examples: int, seen: set[int]) -> None:
    """(In a worker thread.) Drawn creates to both apps, compared on the loop; the statuses
    answered go into `seen`."""

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(drawn_calls(p.world))
    def check(calls: list[Call]) -> None:
        for call in calls:
            seen.add(anyio.from_thread.run(_compared, p, call))

    check()


async def _compared(p: Pair, call: Call) -> int:
    """The same answer; a create that wrote nothing (refused or replayed) changed nothing,
    one that wrote left both databases the same."""
    before = await p.states()
    known = set(p.ids)
    answer = await p.same(call)
    after = await p.states()
    if answer.status_code == 201 and set(p.ids) != known:
        for table in after[0]:
            assert after[0][table] == after[1][table], table
    else:
        assert after == before, (call, answer.status_code)
    return answer.status_code


# --- 2. failures ----------------------------------------------------------------------------


async def test_failures_answer_and_write_as_the_two_statements(pair: Pair) -> None:
    p, w = pair, pair.world
    t = w.t
    await p.created(create(w))
    check_switched(p)
    outage = (
        create(w, title="down"),
        create(w, key="down-1"),
        create(w, assignedUserId=t.user_id),
        create(w, calendarId="unknownCalendar00000"),
        replace(create(w), headers=headers("pit-unchecked")),  # a token not checked before
    )

    # the database refused: 503 with the configured Retry-After; then back
    for side in (p.fast, p.slow):
        side.proxy.refuse()
    for call in outage:
        answer = await p.refused(call, 503)
        assert answer.headers["retry-after"] == str(RETRY_AFTER)
        assert answer.json()["message"] == "the database is unavailable; retry later"
    for side in (p.fast, p.slow):
        side.proxy.forward()
    await p.created(create(w, key="down-1"))  # the key was not taken while down
    await p.created(create(w, title="back"))

    # a restart (open connections reset), then the server killing every connection
    for side in (p.fast, p.slow):
        side.proxy.cut()
    await p.created(create(w, title="after a restart"))
    for side in (p.fast, p.slow):
        await _pg_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{side.database}' AND pid <> pg_backend_pid()"
        )
    await p.created(create(w, title="after the kill"))

    # the connection cut in the middle of a create: right after its calendar was held (and,
    # on the one-statement path, its block inserted), and right after its change row
    for fast_prefix, slow_prefix in ((HELD, HOLD), ("INSERT INTO block_changes",) * 2):
        p.fast.cut_after, p.slow.cut_after = fast_prefix, slow_prefix
        answer = await p.refused(create(w, title="cut", key=f"cut-{fast_prefix[:6]}"), 503)
        assert answer.headers["retry-after"] == str(RETRY_AFTER)
        assert p.fast.cut_after is None and p.slow.cut_after is None  # the cut did happen
        await p.created(create(w, title="cut", key=f"cut-{fast_prefix[:6]}"))

    # a calendar held by another transaction: a lost concurrent write (409) past the lock
    # timeout; deleted by the transaction the create waited for (404); released (201)
    lost = await both_while_held(p, create(w, title="held"), w.t.calendar_id, "wait")
    assert lost.status_code == 409 and lost.json()["message"] == (
        "the change conflicted with a concurrent one; retry it"
    )
    await p.created(create(w, title="held"))
    raced = create(w, key="raced", calendarId=w.calendar_raced)
    gone = await both_while_held(p, raced, w.calendar_raced, "delete")
    assert gone.json()["message"] == "Calendar not found"
    released = await both_while_held(p, create(w, title="held"), w.t.calendar_id, "rollback")
    assert released.status_code == 201
    await p.same_state()
    await p.refused(raced, 404)  # the key was not taken
    check_switched(p)


async def both_while_held(p: Pair, call: Call, calendar_id: str, then: str) -> httpx.Response:
    """The call to each app while another transaction holds the calendar FOR UPDATE (as a
    delete does) and then: `wait` past the lock timeout, `delete` it and commit, or
    `rollback`. The same answer from both; a refused create wrote nothing."""
    before = await p.states()
    fast = await _while_held(p, p.fast, call, calendar_id, then)
    slow = await _while_held(p, p.slow, call, calendar_id, then)
    p.clock.now_ms += 1_000
    p.compare(call, fast, slow)
    if fast.status_code == 201:
        await p.same_state()
    else:
        calendars_gone = "calendars", "calendar_members", "data_versions"
        after = await p.states()
        for state_before, state_after in zip(before, after, strict=True):
            for table in state_before:
                if then != "delete" or table not in calendars_gone:
                    assert state_after[table] == state_before[table], table
        assert after[0] == after[1]
    return fast


async def _while_held(
    p: Pair, side: Side, call: Call, calendar_id: str, then: str
) -> httpx.Response:
    holder = await _pg_admin(side.database)
    try:
        transaction = holder.transaction()
        await transaction.start()
        where = "WHERE location_id = $1 AND {} = $2"
        location_id = call.body["locationId"]
        await holder.execute(f"SELECT 1 FROM calendars {where.format('id')} FOR UPDATE",
                             location_id, calendar_id)  # fmt: skip
        if then == "delete":
            for table, column in (("calendar_members", "calendar_id"), ("calendars", "id")):
                await holder.execute(f"DELETE FROM {table} {where.format(column)}",
                                     location_id, calendar_id)  # fmt: skip
        translate = p.to_slow if side is p.slow else (lambda text: text)
        sent = asyncio.ensure_future(p.send_to(side, call, translate))
        await _until_waiting(side, sent)
        if then == "delete":
            await transaction.commit()
        elif then == "rollback":
            await transaction.rollback()
        answer = await sent
        if then == "wait":
            await transaction.rollback()
        return answer
    finally:
        await holder.close()


async def _until_waiting(side: Side, sent: asyncio.Future[httpx.Response]) -> None:
    """Until the create waits for a lock at its hold of the calendar (the one statement, or
    the first of the two). Asked on a connection of its own: one in a transaction sees the
    activity of its transaction's start only."""
    query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
             "AND wait_event_type = 'Lock' AND starts_with(query, $2)")  # fmt: skip
    hold = HELD if side.name == ONE else HOLD
    watcher: asyncpg.Connection = await _pg_admin()
    try:
        for _ in range(1_000):
            if await watcher.fetchval(query, side.database, hold):
                return
            assert not sent.done(), "the create did not wait for the held calendar"
            await asyncio.sleep(0.002)
    finally:
        await watcher.close()
    raise AssertionError("the create never waited for the held calendar")
