"""The query's fast path against the straightforward one, byte for byte.

The reference app runs with every switch of the hot path off (expand the window, encode every
event, read through SQLAlchemy, answer through FastAPI's router). Against it, on SQLite and
PostgreSQL, with the production machinery on (rate limits counting every request, request
ids, metrics), every answer — status, headers, body — must be the same bytes:

1. every combination of the switches that can occur (60: the answer and block caches exist
   only with direct reads, the parsed queries' cache only behind the lean route), half of
   them with tight limits so that every 422 (window, event cap, work budget, answer size) is
   compared too, on windows, filters, zones and unusual requests drawn by Hypothesis, each
   followed by repeated, shifted and nearby windows that hit the caches;
2. apps with warm caches while another process writes (an edit, a moved instance, a delete,
   a calendar moved to another group) and while the location is reset and loaded again with
   the same ids and other content; a group's answers holding a team member's blocks synced
   from a connected calendar (served over HTTP), and losing them when another process
   takes the user off the team;
3. failures: the app's PostgreSQL connections killed, the database cut off and back behind a
   TCP proxy (503 with the configured Retry-After meanwhile), a SQLite file locked by another
   process, an error in the worker thread that expands series.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import anyio.from_thread
import anyio.to_thread
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.core.isotime import format_ms, parse_iso, zone
from slotblock.core.model import Block
from slotblock.service.calendars import CalendarInput, GroupInput
from slotblock.service.connections import ConnectionInput, ConnectionService
from slotblock.service.container import Services
from slotblock.service.rate_limits import open_rate_limiter
from slotblock.store import blocks as block_store
from slotblock.store import open_store
from slotblock.toolkit.service.fixtures import FixtureService, RuleLimits
from tests.api.calls import create, delete, edit
from tests.api.tcp_proxy import TcpProxy
from tests.conftest import PG_URL, Tenant, _pg_execute
from tests.connections.calendar_server import hosting

pytestmark = pytest.mark.anyio

DAY = 86_400_000
T0 = 1_680_373_800_000  # 2023-04-02T00:00+05:30
RULES = (
    "RRULE:FREQ=WEEKLY",
    "RRULE:FREQ=DAILY;COUNT=20",
    "RRULE:FREQ=DAILY;INTERVAL=3",
    "RRULE:FREQ=HOURLY;INTERVAL=7;COUNT=60",
    "RRULE:FREQ=MONTHLY",
    "RRULE:FREQ=WEEKLY;UNTIL=20230520T000000Z",
)
ZONES = (None, None, "UTC", "America/New_York")
LENGTHS = (3_600_000, DAY, 7 * DAY - 1, 7 * DAY, 31 * DAY, 200 * DAY, 400 * DAY, 0)
RETRY_AFTER = 7  # not the default: a path that ignores the setting answers 5
EXAMPLES = 5  # Hypothesis examples per switch combination (each up to five requests)


def iso(ms: int) -> str:
    return format_ms(ms, zone("Asia/Kolkata"))


# --- apps ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Switches:
    expansion: bool = False
    fragments: bool = False
    answers: bool = False
    blocks: bool = False
    direct: bool = False
    lean: bool = False
    parsed: bool = False


REFERENCE = Switches()
ALL_ON = Switches(True, True, True, True, True, True, True)


def combinations() -> list[Switches]:
    """Every combination that behaves apart: the answer and block caches need direct reads,
    the parsed queries' cache the lean route."""
    out = []
    for direct, expansion, fragments, lean in itertools.product((False, True), repeat=4):
        pairs = list(itertools.product((False, True), repeat=2)) if direct else [(False, False)]
        kept = (False, True) if lean else (False,)
        out += [
            Switches(expansion, fragments, a, b, direct, lean, p) for p in kept for a, b in pairs
        ]
    return out


# Small enough that windows of the data reach each: the window, the event cap, the work
# budget, the answer's size (a series with long texts).
TIGHT = {
    "max_window_days": 45,
    "max_events": 40,
    "query_work": 3_000,
    "max_response_bytes": 65_536,
}


def app_settings(url: str, switches: Switches, *, tight: bool = False) -> Settings:
    def size(on: bool) -> int:
        return 4 * 1024 * 1024 if on else 0

    return Settings(
        database_url=url,
        pool_size=2,
        rate_limit_burst=1_000_000,
        rate_limit_daily=10_000_000,
        retry_after_seconds=RETRY_AFTER,
        expansion_cache_bytes=size(switches.expansion),
        fragment_cache_bytes=size(switches.fragments),
        answer_cache_bytes=size(switches.answers),
        block_cache_bytes=size(switches.blocks),
        direct_reads=switches.direct,
        lean_query_route=switches.lean,
        parsed_query_cache_bytes=size(switches.parsed),
        **(TIGHT if tight else {}),  # type: ignore[arg-type]
    )


@dataclass
class App:
    client: httpx.AsyncClient
    app: FastAPI
    settings: Settings

    @property
    def services(self) -> Services:
        found: Services = self.app.state.services
        return found

    def fresh_limits(self) -> None:
        """Counters from zero, at one instant for every app: the same requests then give
        the same rate-limit headers."""
        self.app.state.rate_limiter = open_rate_limiter(self.settings, lambda: T0)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[App]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as c:
            served = App(c, app, settings)
            served.fresh_limits()
            yield served
    finally:
        await app.state.services.store.dispose()


Request = tuple[list[tuple[str, str]], dict[str, str]]  # query pairs, headers


def same(got: httpx.Response, want: httpx.Response, what: object) -> None:
    assert got.status_code == want.status_code, (what, got.text[:300], want.text[:300])
    assert got.headers.multi_items() == want.headers.multi_items(), what
    assert got.content == want.content, what


async def compare(apps: list[App], reference: App, requests: list[Request]) -> list[int]:
    """Each request to every app and to the reference, counters fresh; the statuses."""
    for app in (*apps, reference):
        app.fresh_limits()
    statuses = []
    for pairs, headers in requests:
        params = urlencode(pairs)
        want = await reference.client.get(
            "/calendars/blocked-slots", params=params, headers=headers
        )
        for app in apps:
            got = await app.client.get("/calendars/blocked-slots", params=params, headers=headers)
            same(got, want, (app.settings.model_dump(include=_SWITCHES), pairs, headers))
        statuses.append(want.status_code)
    return statuses


_SWITCHES = {"direct_reads", "lean_query_route", "expansion_cache_bytes", "fragment_cache_bytes",
             "answer_cache_bytes", "block_cache_bytes", "parsed_query_cache_bytes",
             "max_events"}  # fmt: skip


# --- data ----------------------------------------------------------------------------------


@dataclass
class Data:
    """What the requests refer to."""

    tenant: Tenant
    calendar_b: str
    group_b: str
    block_ids: list[str]
    series: list[tuple[str, int]]  # (id, start)

    def targets(self) -> dict[str, tuple[str, ...]]:
        t = self.tenant
        return {
            "calendarId": (t.calendar_id, self.calendar_b, "unknownCalendar0000"),
            "userId": (t.user_id, "unknownUser000000000"),
            "groupId": (t.group_id, self.group_b, "unknownGroup0000000"),
        }


async def populated(services: Services, client: httpx.AsyncClient, tenant: Tenant) -> Data:
    rng = random.Random(14)
    group = await services.calendars.add_group(tenant.location_id, GroupInput(name="B"))
    calendar = await services.calendars.add_calendar(
        tenant.location_id, CalendarInput(name="B", group_id=group.id)
    )
    data = Data(tenant, calendar.id, group.id, [], [])
    t = tenant
    owners = (
        {"calendarId": t.calendar_id},
        {"calendarId": calendar.id},
        {"assignedUserId": t.user_id},
    )
    for _ in range(25):
        start = T0 + rng.randrange(0, 60 * DAY, 900_000)
        end = start + rng.choice((900_000, 3_600_000, DAY, 3 * DAY))
        block = await create(client, t, title=f"b{rng.random()}", startTime=iso(start),
                             endTime=iso(end), **rng.choice(owners))  # fmt: skip
        data.block_ids.append(block["id"])
    for rule in RULES:
        start = T0 + rng.randrange(0, 20 * DAY, 1_800_000)
        series = await create(client, t, title=rule, startTime=iso(start),
                              endTime=iso(start + 1_800_000), rrule=rule,
                              **rng.choice(owners[:2]))  # fmt: skip
        data.series.append((series["id"], start))
    # long texts: an answer of this series' instances passes the tight answer size first
    await create(client, t, title="long", description="d" * 2_500, startTime=iso(T0 + 3_600_000),
                 endTime=iso(T0 + 7_200_000), rrule="RRULE:FREQ=DAILY", calendarId=calendar.id)  # fmt: skip
    for series_id, start in data.series[:3]:
        await edit(client, t, f"{series_id}_{start}_1800", title="moved",
                   startTime=iso(start + DAY + 3_600_000), endTime=iso(start + DAY + 7_200_000))  # fmt: skip
    await delete(client, t, f"{data.series[3][0]}_{data.series[3][1] + 7 * 3_600_000}_1800")
    return data


# --- requests drawn by Hypothesis ----------------------------------------------------------


def _no_version(_: dict[str, str], headers: dict[str, str]) -> None:
    del headers["Version"]


def _bad_token(_: dict[str, str], headers: dict[str, str]) -> None:
    headers["Authorization"] = "Bearer pit-not-a-token"


def _no_token(_: dict[str, str], headers: dict[str, str]) -> None:
    del headers["Authorization"]


UNUSUAL: tuple[Callable[[dict[str, str], dict[str, str]], object], ...] = (
    _no_version,
    _bad_token,
    _no_token,
    lambda params, _: params.update(unknown="1"),
    lambda params, _: params.update(startTime="yesterday"),
    lambda params, _: params.update(timeZone="Mars/Olympus"),
    lambda params, _: params.update(locationId="someOtherLocation000"),
    lambda params, _: params.pop("locationId"),
    lambda params, _: params.update(endTime=params["endTime"] + ".5"),
    lambda params, _: params.update(calendarId=""),
    lambda params, _: params.update(startTime="-1", endTime="1"),  # before 1900 is fine
    lambda params, _: params.update(startTime="32503680000001", endTime="32503680000002"),
)


@st.composite
def request_runs(draw: st.DrawFn, data: Data) -> list[Request]:
    """A request, then up to three that follow it: the same again, shifted by a millisecond,
    the next day, or in another zone (the caches' hits and near misses)."""
    step = draw(st.sampled_from((1, 60_000, 3_600_000, DAY)))
    start = T0 + draw(st.integers(-10 * DAY // step, 90 * DAY // step)) * step
    length = draw(st.one_of(st.sampled_from(LENGTHS), st.integers(1, 400 * DAY)))
    params = {"locationId": data.tenant.location_id, "startTime": str(start),
              "endTime": str(start + length)}  # fmt: skip
    for name, values in data.targets().items():
        picked = draw(st.sampled_from((None, None, *values[:-1], *values[:-1], values[-1])))
        if picked is not None:
            params[name] = picked
    if zone_name := draw(st.sampled_from(ZONES)):
        params["timeZone"] = zone_name
    headers = {**data.tenant.headers(), "X-Request-Id": f"diff-{draw(st.integers(0, 9))}"}
    if draw(st.integers(0, 9)) == 0:
        draw(st.sampled_from(UNUSUAL))(params, headers)
    out = [(list(params.items()), headers)]
    for move in draw(st.lists(st.sampled_from(("same", "ms", "day", "zone")), max_size=3)):
        out.append(_moved(out[-1], move))
    if draw(st.integers(0, 29)) == 0:
        pairs, given_headers = out[0]
        out.append(([*pairs, pairs[0]], given_headers))  # a repeated parameter
    return out


def _moved(request: Request, move: str) -> Request:
    pairs, headers = request
    params = dict(pairs)
    if move in ("ms", "day") and params.get("startTime", "").isdigit():
        shift = 1 if move == "ms" else DAY
        for name in ("startTime", "endTime"):
            if params.get(name, "").isdigit():
                params[name] = str(int(params[name]) + shift)
    elif move == "zone":
        params["timeZone"] = "Europe/Paris"
    return list(params.items()), headers


def explore(
    apps: list[App], reference: App, data: Data, examples: int, seen: set[int] | None = None
) -> None:
    """(In a worker thread.) Hypothesis's requests against the apps, compared on the loop;
    the statuses answered go into `seen`."""

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request_runs(data))
    def check(run: list[Request]) -> None:
        statuses = anyio.from_thread.run(compare, apps, reference, run)
        if seen is not None:
            seen.update(statuses)

    check()


# --- 1. every combination of the switches, and every 422 ------------------------------------


async def test_every_switch_combination_answers_as_the_reference(
    database_url: str, services: Services, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    data = await populated(services, client, tenant)
    combos = combinations()
    assert len(combos) == 60 and ALL_ON in combos
    statuses: set[int] = set()
    async with (
        serving(app_settings(database_url, REFERENCE)) as reference,
        serving(app_settings(database_url, REFERENCE, tight=True)) as tight_reference,
    ):
        for n, switches in enumerate(combos):
            tight = n % 2 == 1
            async with serving(app_settings(database_url, switches, tight=tight)) as fast:
                ref = tight_reference if tight else reference
                await anyio.to_thread.run_sync(explore, [fast], ref, data, EXAMPLES, statuses)
                # and the windows that reach each limit, every combination
                statuses.update(await compare([fast], ref, limit_windows(data)))
                statuses.update(await compare([fast], ref, unusual_requests(data)))
    assert {200, 400, 401, 404, 422} <= statuses


def unusual_requests(data: Data) -> list[Request]:
    """Each unusual request and each unknown target once, whatever Hypothesis drew: every
    combination meets every error at least once."""
    t = data.tenant
    start = T0 + DAY
    base = {"locationId": t.location_id, "startTime": str(start), "endTime": str(start + DAY)}
    out: list[Request] = []
    for change in UNUSUAL:
        params, headers = dict(base), {**t.headers(), "X-Request-Id": "unusual"}
        change(params, headers)
        out.append((list(params.items()), headers))
    for name, values in data.targets().items():
        out.append(
            ([*base.items(), (name, values[-1])], {**t.headers(), "X-Request-Id": "unknown"})
        )
    return out


def limit_windows(data: Data) -> list[Request]:
    """A window for each 422 of the tight limits (and the answers under them)."""
    t = data.tenant
    base = {"locationId": t.location_id, "calendarId": data.calendar_b}
    headers = {**t.headers(), "X-Request-Id": "limits"}

    def window(start: int, days: float, **more: str) -> Request:
        params = {**base, "startTime": str(start), "endTime": str(start + int(days * DAY)), **more}
        return list(params.items()), headers

    return [
        window(T0, 46),  # longer than 45 days
        window(T0, 45),  # 45 daily instances of the long series: past the event cap of 40
        window(T0, 30),  # 30 of them: past 64 KiB
        window(T0, 1),
        window(T0 - 400 * DAY, 360, calendarId=t.calendar_id),  # the work budget, far back
        window(T0 + 2 * DAY, 7, calendarId=t.calendar_id, timeZone="UTC"),
    ]


# --- 2. warm caches while another process writes, resets and loads ---------------------------


async def test_caches_follow_writes_resets_and_loads(
    database_url: str, services: Services, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    data = await populated(services, client, tenant)
    rng = random.Random(19)
    kinds = (ALL_ON, Switches(answers=True, direct=True), Switches(blocks=True, direct=True),
             Switches(expansion=True, lean=True), Switches(fragments=True, direct=True))  # fmt: skip
    async with AsyncExitStack() as stack:
        reference = await stack.enter_async_context(serving(app_settings(database_url, REFERENCE)))
        apps = [
            await stack.enter_async_context(serving(app_settings(database_url, k))) for k in kinds
        ]
        for round_ in range(3):
            await compare(apps, reference, watched(data))  # answers now cached
            statuses = _other_node(database_url, tenant.token, _writes(data, rng))
            assert all(status in (200, 201) for status in statuses), statuses
            await compare(apps, reference, watched(data))  # the same windows, right after
            await anyio.to_thread.run_sync(explore, apps, reference, data, 3)
            await reset_and_load(database_url, data, round_)
            assert set(await compare(apps, reference, watched(data))) == {200}


def watched(data: Data) -> list[Request]:
    """Windows that see every block, by each filter: a stale answer shows here."""
    t = data.tenant
    out = []
    for name, value in (("calendarId", t.calendar_id), ("calendarId", data.calendar_b),
                        ("userId", t.user_id), ("groupId", t.group_id), ("groupId", data.group_b)):  # fmt: skip
        params = {"locationId": t.location_id, "startTime": str(T0 - DAY),
                  "endTime": str(T0 + 100 * DAY), name: value}  # fmt: skip
        out.append((list(params.items()), {**t.headers(), "X-Request-Id": f"watch-{name}"}))
    return out


def _other_node(url: str, token: str, requests: list[list[Any]]) -> list[int]:
    command = [sys.executable, "-m", "tests.api.other_node", url, token, json.dumps(requests)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    statuses: list[int] = json.loads(done.stdout.strip().splitlines()[-1])
    return statuses


def _writes(data: Data, rng: random.Random) -> list[list[Any]]:
    t = data.tenant
    series_id, start = data.series[rng.randrange(len(data.series))]
    body = {"locationId": t.location_id}
    return [
        ["PUT", f"/calendars/events/block-slots/{rng.choice(data.block_ids)}", {**body, "title": f"t{rng.random()}"}],
        ["PUT", f"/calendars/events/block-slots/{series_id}", {**body, "notes": f"n{rng.random()}"}],
        ["PUT", f"/calendars/events/block-slots/{series_id}_{start}_1800", {**body, "description": f"d{rng.random()}"}],
        ["DELETE", f"/calendars/events/{data.block_ids.pop(rng.randrange(len(data.block_ids)))}", {}],
        ["PUT", f"/calendars/{rng.choice((t.calendar_id, data.calendar_b))}", {"groupId": rng.choice((t.group_id, data.group_b))}],
    ]  # fmt: skip


async def reset_and_load(url: str, data: Data, round_: int) -> None:
    """The location exported, reset, and loaded again with the same ids: every title
    changed, and each series an hour later (its moved instances dropped)."""
    store = open_store(url, pool_size=1)
    try:
        fixtures = FixtureService(store, RuleLimits(max_count=1_000), lambda: T0)
        document = await fixtures.export(data.tenant.location_id)
        [location] = document["locations"]
        for block in location["blocks"]:
            block["title"] = f"{block.get('title', '')} r{round_}"
            if block.get("rrule"):
                for name in ("startTime", "endTime"):
                    block[name] = iso(parse_iso(block[name]) + 3_600_000)
                block.pop("instances", None)
                block["rrule"] = block["rrule"].split("\n")[0]
        await fixtures.reset(data.tenant.location_id)
        await fixtures.load(document)
    finally:
        await store.dispose()
    data.series = [(series_id, start + 3_600_000) for series_id, start in data.series]


# --- 2b. a group's team members' synced blocks --------------------------------------------

SYNCED_CALENDAR = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//tests//EN\r
BEGIN:VEVENT\r
UID:weekly@example.com\r
DTSTART:20230403T033000Z\r
DTEND:20230403T043000Z\r
RRULE:FREQ=WEEKLY;COUNT=8\r
SUMMARY:Weekly\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:day-off@example.com\r
DTSTART;VALUE=DATE:20230405\r
SUMMARY:Day off\r
END:VEVENT\r
END:VCALENDAR\r
"""


async def test_a_groups_synced_blocks_answer_as_the_reference(
    database_url: str, services: Services, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    """A connection synced from a real HTTP-served calendar: the group of its user's
    calendar finds its blocks on every path, and loses them on every path, caches warm,
    when another process takes the user off the team (and finds them again after)."""
    data = await populated(services, client, tenant)
    t = tenant
    allowed = Settings(
        outbound_allow_networks="127.0.0.0/8", connection_key="a key of the differential test"
    )
    connections = ConnectionService(services.store, allowed, services.clock)
    with hosting(SYNCED_CALENDAR) as host:
        made = await connections.create_in(ConnectionInput(t.location_id, t.user_id, host.url))
        synced = await connections.sync_in(t.location_id, made.id)
    assert synced.last_error is None and synced.event_count == 2
    kinds = (ALL_ON, Switches(answers=True, direct=True), Switches(blocks=True, direct=True),
             Switches(lean=True), Switches(expansion=True, fragments=True))  # fmt: skip
    group_window = watched(data)[3]
    assert dict(group_window[0])["groupId"] == t.group_id
    async with AsyncExitStack() as stack:
        reference = await stack.enter_async_context(serving(app_settings(database_url, REFERENCE)))
        apps = [
            await stack.enter_async_context(serving(app_settings(database_url, k))) for k in kinds
        ]
        for team, found in (([t.user_id], True), ([], False), ([t.user_id], True)):
            await compare(apps, reference, watched(data))  # answers now cached
            statuses = _other_node(database_url, t.token, [
                ["PUT", f"/calendars/{t.calendar_id}", {"teamMembers": [{"userId": u} for u in team]}],
            ])  # fmt: skip
            assert statuses == [200]
            await compare(apps, reference, watched(data))  # the same windows, right after
            answer = await reference.client.get(
                "/calendars/blocked-slots", params=urlencode(group_window[0]), headers=t.headers()
            )
            sources = [e for e in answer.json()["events"] if e.get("createdBy", {}).get("source")]
            assert len(sources) == (9 if found else 0), answer.text[:300]  # 8 weekly, 1 day
        await anyio.to_thread.run_sync(explore, apps, reference, data, 10)


# --- 3. failures ---------------------------------------------------------------------------


FAILING_KINDS = (ALL_ON, replace(ALL_ON, lean=False), replace(ALL_ON, direct=False))


async def test_failures_answer_as_the_reference_does(
    database_url: str, services: Services, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    """A worker-thread error on both backends; a SQLite file locked by another process;
    PostgreSQL's connections killed, and the database cut off behind a proxy."""
    data = await populated(services, client, tenant)
    async with AsyncExitStack() as stack:
        reference = await stack.enter_async_context(serving(app_settings(database_url, REFERENCE)))
        apps = [await stack.enter_async_context(serving(app_settings(database_url, k)))
                for k in FAILING_KINDS]  # fmt: skip
        await worker_thread_error(apps, reference, data, database_url)
        if database_url.startswith("sqlite"):
            await locked_sqlite_file(apps, reference, data, database_url)
        else:
            await connections_killed(apps, reference, data, database_url)
    if not database_url.startswith("sqlite"):
        await database_cut_off(data, database_url)


def fresh_windows(data: Data, count: int, salt: int) -> list[Request]:
    """Windows no app has seen (so that each reads the database), and one seen before."""
    rng = random.Random(salt)
    t = data.tenant
    out = []
    for n in range(count):
        start = T0 + rng.randrange(0, 60 * DAY, 60_000) + salt
        params = {"locationId": t.location_id, "startTime": str(start),
                  "endTime": str(start + 7 * DAY), "calendarId": t.calendar_id}  # fmt: skip
        out.append((list(params.items()), {**t.headers(), "X-Request-Id": f"f{salt}-{n}"}))
    return [*out, *watched(data)[:1]]


async def worker_thread_error(apps: list[App], reference: App, data: Data, url: str) -> None:
    """A stored rule the expansion (in its worker thread) cannot read: 500 on every path."""
    broken = Block(location_id=data.tenant.location_id, id="brokenRule0000000000",
                   calendar_id=data.calendar_b, assigned_user_id=None, title="x", description="",
                   notes="", address="", start_ms=T0, end_ms=T0 + 3_600_000, timezone="UTC",
                   rrule="RRULE:FREQ=NEVER", last_start_ms=None, overrides=(), created_ms=0,
                   updated_ms=0)  # fmt: skip
    store = open_store(url, pool_size=1)
    try:
        async with store.begin() as conn:
            await block_store.insert_blocks(conn, [broken])
        params = {"locationId": data.tenant.location_id, "calendarId": data.calendar_b,
                  "startTime": str(T0), "endTime": str(T0 + 7 * DAY)}  # fmt: skip
        headers = {**data.tenant.headers(), "X-Request-Id": "broken"}
        assert await compare(apps, reference, [(list(params.items()), headers)] * 2) == [500, 500]
        async with store.begin() as conn:
            await block_store.delete_block(conn, broken.location_id, broken.id)
    finally:
        await store.dispose()


async def locked_sqlite_file(apps: list[App], reference: App, data: Data, url: str) -> None:
    """Another process holds the write lock, then (for half a second) every read mark of the
    WAL index: reads wait for it or pass, the same on every path."""
    path = sa.make_url(url).database or ""
    writer = (f"import sqlite3, time\nc = sqlite3.connect({path!r}, isolation_level=None)\n"
              "c.execute('BEGIN IMMEDIATE')\nprint('held', flush=True)\ntime.sleep(30)")  # fmt: skip
    with held(writer, until_done=False):
        assert set(await compare(apps, reference, fresh_windows(data, 4, 1))) == {200}
    # byte 120 of the -shm file starts SQLite's WAL-index locks; 123-127 are the read marks
    marks = (f"import fcntl, os, time\nfd = os.open({path + '-shm'!r}, os.O_RDWR)\n"
             "fcntl.lockf(fd, fcntl.LOCK_EX, 5, 123, os.SEEK_SET)\nprint('held', flush=True)\n"
             "time.sleep(0.5)")  # fmt: skip
    with held(marks, until_done=True):
        assert set(await compare(apps, reference, fresh_windows(data, 2, 2))) == {200}


@contextmanager
def held(code: str, *, until_done: bool) -> Iterator[None]:
    """A process that takes a lock and says so; killed after (or waited for)."""
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "held"
        yield
    finally:
        if not until_done:
            process.kill()
        process.wait()
        process.stdout.close()


async def connections_killed(apps: list[App], reference: App, data: Data, url: str) -> None:
    """Every connection of the apps terminated by the server (a restart, a failover): the
    next reads reconnect, on every path (never a 500)."""
    name = sa.make_url(url).database
    kill = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")  # fmt: skip
    await compare(apps, reference, fresh_windows(data, 2, 10))  # every pool holds connections
    for salt in range(11, 15):
        await _pg_execute(kill)
        assert set(await compare(apps, reference, fresh_windows(data, 3, salt))) == {200}


async def database_cut_off(data: Data, url: str) -> None:
    """The apps reach PostgreSQL through a proxy: it goes away (every read 503 with the
    configured Retry-After, the same body and headers, whether the token was checked just
    before or not), comes back, and restarts (open connections reset)."""
    target = sa.make_url(PG_URL).port or 5432
    with TcpProxy(target) as proxy:
        proxied = sa.make_url(url).set(host="127.0.0.1", port=proxy.port)
        via = proxied.render_as_string(hide_password=False)
        async with AsyncExitStack() as stack:
            reference = await stack.enter_async_context(serving(app_settings(via, REFERENCE)))
            apps = [await stack.enter_async_context(serving(app_settings(via, k)))
                    for k in FAILING_KINDS]  # fmt: skip
            assert set(await compare(apps, reference, fresh_windows(data, 2, 20))) == {200}
            proxy.refuse()
            unknown = fresh_windows(data, 1, 21)[0][0], {**data.tenant.headers(), "Authorization": "Bearer pit-unchecked", "X-Request-Id": "unchecked"}  # fmt: skip
            answers = await compare(apps, reference, [*fresh_windows(data, 3, 22), unknown])
            assert set(answers) == {503}
            gone = await reference.client.get(
                "/calendars/blocked-slots", params=urlencode(unknown[0]), headers=unknown[1]
            )
            assert gone.headers["retry-after"] == str(RETRY_AFTER)
            assert gone.json() == {"statusCode": 503, "error": "Service Unavailable",
                                   "message": "the database is unavailable; retry later"}  # fmt: skip
            proxy.forward()
            assert set(await compare(apps, reference, fresh_windows(data, 3, 23))) == {200}
            for salt in (24, 25):
                proxy.cut()
                assert set(await compare(apps, reference, fresh_windows(data, 3, salt))) == {200}


async def test_the_lean_route_keeps_the_openapi_description(database_url: str) -> None:
    async with (
        serving(app_settings(database_url, ALL_ON)) as fast,
        serving(app_settings(database_url, REFERENCE)) as reference,
    ):
        got = await fast.client.get("/openapi.json")
        want = await reference.client.get("/openapi.json")
    assert got.status_code == 200 and got.content == want.content
    assert "get-blocked-slots" in got.text
