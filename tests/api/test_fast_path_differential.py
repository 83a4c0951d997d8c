"""The query's fast path against the straightforward one, byte for byte.

Two apps over one database: `fast` with every hot-path cache on, `reference` with them off
(today's plain code path: expand the window, encode every event). Both run the production
machinery (rate limits counting every request, request ids, metrics). Randomized blocks,
series (moved and deleted instances), windows, filters, zones and invalid requests; then
writes from another process (another node): a block edited, an instance moved, a block
deleted, a calendar moved to another group. Every answer (status, headers, body) must be
the same bytes; a cache serving an answer from before another node's write fails here.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from slotblock.api.app import create_app
from slotblock.config import Settings
from slotblock.service.calendars import CalendarInput, GroupInput
from slotblock.service.container import Services
from slotblock.service.rate_limits import open_rate_limiter
from tests.api.calls import create, delete, edit
from tests.conftest import Tenant

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
LENGTHS = (
    3_600_000,
    DAY,
    7 * DAY - 1,
    7 * DAY,
    7 * DAY,
    31 * DAY,
    31 * DAY,
    200 * DAY,
    400 * DAY,
    0,
)


def iso(ms: int) -> str:
    from slotblock.core.isotime import format_ms, zone

    return format_ms(ms, zone("Asia/Kolkata"))


def _settings(url: str, caches: bool) -> Settings:
    size = 4 * 1024 * 1024 if caches else 0
    return Settings(
        database_url=url,
        pool_size=2,
        rate_limit_burst=1_000_000,
        rate_limit_daily=10_000_000,
        expansion_cache_bytes=size,
        fragment_cache_bytes=size,
        answer_cache_bytes=size,
        direct_reads=caches,
        lean_query_route=caches,
    )


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    # one instant for both apps' limiters: the same counts give the same headers
    app.state.rate_limiter = open_rate_limiter(settings, lambda: T0)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://slotblock") as c:
            yield c
    finally:
        await app.state.services.store.dispose()


@pytest.fixture
async def fast(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(_settings(database_url, caches=True)):
        yield c


@pytest.fixture
async def reference(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(_settings(database_url, caches=False)):
        yield c


class Data:
    """What the randomized requests refer to."""

    def __init__(self, tenant: Tenant, calendar_b: str, group_b: str) -> None:
        self.tenant = tenant
        self.calendar_b = calendar_b
        self.group_b = group_b
        self.block_ids: list[str] = []
        self.series: list[tuple[str, int]] = []  # (id, start)


async def _populate(rng: random.Random, client: httpx.AsyncClient, data: Data) -> None:
    t = data.tenant
    for _ in range(25):
        start = T0 + rng.randrange(0, 60 * DAY, 900_000)
        end = start + rng.choice((900_000, 3_600_000, DAY, 3 * DAY))
        owner = rng.choice(
            (
                {"calendarId": t.calendar_id},
                {"calendarId": data.calendar_b},
                {"assignedUserId": t.user_id},
            )
        )
        block = await create(
            client, t, title=f"b{rng.random()}", startTime=iso(start), endTime=iso(end), **owner
        )
        data.block_ids.append(block["id"])
    for rule in RULES:
        start = T0 + rng.randrange(0, 20 * DAY, 1_800_000)
        owner = rng.choice(({"calendarId": t.calendar_id}, {"calendarId": data.calendar_b}))
        series = await create(
            client,
            t,
            title=rule,
            startTime=iso(start),
            endTime=iso(start + 1_800_000),
            rrule=rule,
            **owner,
        )
        data.series.append((series["id"], start))
    for series_id, start in data.series[:3]:
        await edit(client, t, f"{series_id}_{start}_1800", title="moved",
                   startTime=iso(start + DAY + 3_600_000), endTime=iso(start + DAY + 7_200_000))  # fmt: skip
    await delete(client, t, f"{data.series[3][0]}_{data.series[3][1] + 7 * 3_600_000}_1800")


def _request(rng: random.Random, data: Data, n: int) -> tuple[dict[str, str], dict[str, str]]:
    t = data.tenant
    start = T0 + rng.randrange(-10 * DAY, 90 * DAY, rng.choice((60_000, 3_600_000, DAY)))
    params = {
        "locationId": t.location_id,
        "startTime": str(start),
        "endTime": str(start + rng.choice(LENGTHS)),
    }
    targets = {
        "calendarId": (t.calendar_id, data.calendar_b, "unknownCalendar0000"),
        "userId": (t.user_id, "unknownUser000000000"),
        "groupId": (t.group_id, data.group_b, "unknownGroup0000000"),
    }
    names = rng.sample(sorted(targets), rng.choice((0, 1, 1, 1, 1, 1, 1, 2, 2, 3)))
    for name in names:
        params[name] = rng.choices(targets[name], weights=(12, 12, 1)[: len(targets[name])])[0]
    zone = rng.choice(ZONES)
    if zone:
        params["timeZone"] = zone
    headers = {**t.headers(), "X-Request-Id": f"diff-{n}"}
    if rng.random() < 0.15:
        rng.choice(UNUSUAL)(params, headers)
    return params, headers


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
)


def _same(fast: httpx.Response, reference: httpx.Response, what: str) -> None:
    assert fast.status_code == reference.status_code, what
    assert fast.headers.multi_items() == reference.headers.multi_items(), what
    assert fast.content == reference.content, what


async def _compare(
    rng: random.Random,
    fast: httpx.AsyncClient,
    reference: httpx.AsyncClient,
    data: Data,
    count: int,
) -> int:
    """`count` random queries, with nearby and repeated windows; how many answered 200."""
    ok = 0
    previous: list[tuple[dict[str, str], dict[str, str]]] = []
    for n in range(count):
        if previous and rng.random() < 0.3:
            params, headers = rng.choice(previous)  # a repeated window
        else:
            params, headers = _request(rng, data, n)
            previous.append((params, headers))
        pairs: list[tuple[str, str | int | float | bool | None]] = list(params.items())
        if rng.random() < 0.03:
            pairs.append(rng.choice(pairs))  # a repeated parameter
        query = httpx.QueryParams(pairs)
        got = await fast.get("/calendars/blocked-slots", params=query, headers=headers)
        want = await reference.get("/calendars/blocked-slots", params=query, headers=headers)
        _same(got, want, f"{pairs} {headers}")
        ok += got.status_code == 200
    return ok


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


@pytest.mark.slow
async def test_fast_path_answers_as_the_reference_does(
    database_url: str,
    services: Services,
    tenant: Tenant,
    client: httpx.AsyncClient,
    fast: httpx.AsyncClient,
    reference: httpx.AsyncClient,
) -> None:
    rng = random.Random(14)
    group = await services.calendars.add_group(tenant.location_id, GroupInput(name="B"))
    calendar = await services.calendars.add_calendar(
        tenant.location_id, CalendarInput(name="B", group_id=group.id)
    )
    data = Data(tenant, calendar.id, group.id)
    await _populate(rng, client, data)
    answered = await _compare(rng, fast, reference, data, 150)
    assert answered > 50  # most requests reach the query, not only the errors
    for _ in range(3):
        await _watch(fast, reference, data)  # answers now cached by the fast app
        statuses = _other_node(database_url, tenant.token, _writes(data, rng))
        assert all(status in (200, 201) for status in statuses), statuses
        await _watch(fast, reference, data)  # the same windows, right after the writes
        await _compare(rng, fast, reference, data, 40)


async def _watch(fast: httpx.AsyncClient, reference: httpx.AsyncClient, data: Data) -> None:
    """Windows that see every block, by each filter: a stale answer shows here."""
    t = data.tenant
    for name, value in (
        ("calendarId", t.calendar_id),
        ("calendarId", data.calendar_b),
        ("userId", t.user_id),
        ("groupId", t.group_id),
        ("groupId", data.group_b),
    ):
        params = {"locationId": t.location_id, "startTime": str(T0 - DAY),
                  "endTime": str(T0 + 100 * DAY), name: value}  # fmt: skip
        headers = {**t.headers(), "X-Request-Id": f"watch-{name}"}
        got = await fast.get("/calendars/blocked-slots", params=params, headers=headers)
        want = await reference.get("/calendars/blocked-slots", params=params, headers=headers)
        _same(got, want, f"watched {params}")


async def test_the_lean_route_keeps_the_openapi_description(
    fast: httpx.AsyncClient, reference: httpx.AsyncClient
) -> None:
    got, want = await fast.get("/openapi.json"), await reference.get("/openapi.json")
    assert got.status_code == 200 and got.content == want.content
    assert "get-blocked-slots" in got.text
