"""The lean route's parsed queries (`parsed_query_cache_bytes`), over a real app on SQLite and
PostgreSQL: a query string read once answers as it did the first time, refused ones included;
the cache stays within its bytes under a long tail of distinct queries and evicts nothing of
the other caches; 0 keeps nothing and answers the same; the kept query cannot be changed.

The cache is a switch of tests/api/test_fast_path_differential.py (on and off behind the
lean route: 20 more combinations, about half again that test's time, not twice it).
The last test here is a focused differential beside it: every request sent twice, so that
each outcome — an answer and every refusal — is served from the cache at least once,
against the straightforward path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import anyio.to_thread
import httpx
import pytest
from pydantic import ValidationError

from slotblock.api.availability_schemas import ZonedBlockedSlotsQuery
from slotblock.api.routes.blocked_slots_lean import ParsedQueries, entry_bytes, usual_query
from slotblock.config import Settings
from slotblock.core.bounded_cache import BoundedCache, CacheStats
from slotblock.service.container import Services
from tests.api.calls import SEED_END, SEED_START, create
from tests.api.test_fast_path_differential import (
    ALL_ON,
    REFERENCE,
    App,
    Switches,
    app_settings,
    compare,
    explore,
    populated,
    serving,
    unusual_requests,
    watched,
)
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio

PATH = "/calendars/blocked-slots"
MIB = 1024 * 1024


def parsed(app: App) -> BoundedCache[object]:
    found: BoundedCache[object] = app.app.state.parsed_queries.cache
    return found


@asynccontextmanager
async def lean(url: str, **more: object) -> AsyncIterator[App]:
    """An app with the production machinery and every default (the lean route, the parsed
    queries' cache of 1 MiB) unless `more` says otherwise."""
    settings = Settings(database_url=url, pool_size=2, **more)  # type: ignore[arg-type]
    async with serving(settings) as app:
        yield app


def window(t: Tenant, **more: str) -> str:
    """A raw query string, in this order, nothing in it encoded."""
    params = {"locationId": t.location_id, "calendarId": t.calendar_id,
              "startTime": str(SEED_START), "endTime": str(SEED_END), **more}  # fmt: skip
    return "&".join(f"{name}={value}" for name, value in params.items())


async def get(app: App, t: Tenant, query: str) -> httpx.Response:
    """One request, the rate-limit counters fresh: the same request, the same headers."""
    app.fresh_limits()
    headers = {**t.headers(), "X-Request-Id": "parsed-queries"}
    return await app.client.get(f"{PATH}?{query}", headers=headers)


def same(got: httpx.Response, want: httpx.Response) -> None:
    assert got.status_code == want.status_code, (got.text[:300], want.text[:300])
    assert got.headers.multi_items() == want.headers.multi_items()
    assert got.content == want.content


async def test_a_repeated_query_string_is_read_once(
    database_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await create(client, tenant, title="kept", startTime="2023-04-03T13:00:00+05:30",
                 endTime="2023-04-03T14:00:00+05:30")  # fmt: skip
    async with lean(database_url) as app:
        cache = parsed(app)
        assert cache.max_bytes == MIB  # the default
        query = window(tenant)
        first = await get(app, tenant, query)
        assert first.status_code == 200 and b"kept" in first.content
        assert cache.stats() == CacheStats(0, 1, 0, cache.bytes, 1)
        second = await get(app, tenant, query)
        same(second, first)
        assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
        # the same object each time, charged as entry_bytes says
        kept = app.app.state.parsed_queries(query.encode())
        assert isinstance(kept, ZonedBlockedSlotsQuery)
        assert app.app.state.parsed_queries(query.encode()) is kept
        assert cache.bytes == entry_bytes(query.encode(), kept) == cache.entry_bytes()
        # other bytes, the same query: an entry of their own
        reordered = "&".join(reversed(query.split("&")))
        same(await get(app, tenant, reordered), first)
        assert (cache.hits, cache.misses, len(cache)) == (3, 2, 2)


REFUSED = {
    "missing parameter": lambda t: window(t).replace(f"locationId={t.location_id}&", ""),
    "non-numeric time": lambda t: window(t, startTime="yesterday"),
    "fractional time": lambda t: window(t, endTime=f"{SEED_END}.5"),
    "unknown parameter": lambda t: window(t, unknown="1"),
    "blank calendar": lambda t: window(t, calendarId=""),
    "unknown zone": lambda t: window(t, timeZone="Mars/Olympus"),
}


@pytest.mark.parametrize("kind", REFUSED)
async def test_a_refused_query_is_kept_as_the_routes_and_answered_the_same(
    database_url: str, tenant: Tenant, kind: str
) -> None:
    query = REFUSED[kind](tenant)
    async with (
        lean(database_url) as app,
        lean(database_url, lean_query_route=False) as route,  # FastAPI's route answers
    ):
        want = await get(route, tenant, query)
        assert want.status_code in (400, 422), want.text
        cache = parsed(app)
        first = await get(app, tenant, query)
        same(first, want)
        assert (cache.hits, cache.misses, len(cache)) == (0, 1, 1)
        same(await get(app, tenant, query), want)
        assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
        assert cache.get(query.encode()) is False  # "the route answers it"
        assert cache.bytes == entry_bytes(query.encode(), None) == cache.entry_bytes()


async def test_a_repeated_parameter_is_refused_ahead_of_the_cache(
    database_url: str, tenant: Tenant
) -> None:
    """SingleQueryValues answers a repeated name (400) before the lean route sees it; a
    twin that only parse_qsl would find is kept as the route's."""
    query = window(tenant) + f"&calendarId={tenant.calendar_id}"
    async with (
        lean(database_url) as app,
        lean(database_url, lean_query_route=False) as route,
    ):
        want = await get(route, tenant, query)
        assert want.status_code == 400 and b"must be given once" in want.content
        same(await get(app, tenant, query), want)
        same(await get(app, tenant, query), want)
        assert parsed(app).stats() == CacheStats(0, 0, 0, 0, 0)
    queries = ParsedQueries(MIB)
    assert usual_query(b"a=1&a=2") is None
    assert queries(b"a=1&a=2") is None and queries(b"a=1&a=2") is None
    assert (queries.cache.hits, queries.cache.misses) == (1, 1)


async def test_the_long_tail_stays_within_its_bytes_and_evicts_only_its_own(
    database_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """2,000 distinct query strings (valid windows and refused ones, alternately) through
    the default 1 MiB: the bytes never pass it, and the other caches lose nothing — a
    window answered before the stream is still answered from the answers' cache after."""
    await create(client, tenant, startTime="2023-04-03T13:00:00+05:30",
                 endTime="2023-04-03T14:00:00+05:30")  # fmt: skip
    async with lean(database_url) as app:
        cache = parsed(app)
        answers = app.services.answers.cache
        fragments: BoundedCache[bytes] = app.app.state.event_fragments.cache
        warm = window(tenant)
        before = await get(app, tenant, warm)
        assert before.status_code == 200
        warm_answers = answers.stats()
        for n in range(2_000):
            if n % 2:
                query = window(tenant, startTime=f"x{n}")  # refused
            else:
                query = window(tenant, startTime=str(SEED_START + 1 + n))
            answer = await get(app, tenant, query)
            assert answer.status_code == (400 if n % 2 else 200), answer.text
            assert cache.bytes <= cache.max_bytes
        assert cache.bytes == cache.entry_bytes() > cache.max_bytes - 3_000
        assert cache.evictions > 0 and cache.misses == 2_001 and cache.hits == 0
        assert cache.evictions + len(cache) == 2_001
        assert answers.evictions == fragments.evictions == 0
        assert len(answers) == warm_answers.entries + 1_000
        same(await get(app, tenant, warm), before)
        assert answers.hits == warm_answers.hits + 1
        # the warm window's query string was evicted long ago: read again
        assert cache.misses == 2_002


async def test_zero_keeps_nothing_and_answers_the_same(
    database_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await create(client, tenant, startTime="2023-04-03T13:00:00+05:30",
                 endTime="2023-04-03T14:00:00+05:30")  # fmt: skip
    queries = [window(tenant), window(tenant, startTime="yesterday"), window(tenant)]
    async with (
        lean(database_url) as on,
        lean(database_url, parsed_query_cache_bytes=0) as off,
    ):
        for query in queries + queries:
            same(await get(off, tenant, query), await get(on, tenant, query))
        assert parsed(off).stats() == CacheStats(0, 0, 0, 0, 0)  # not even looked up
        assert parsed(on).stats().hits == 4
        metrics = (await on.client.get("/metrics")).text
        assert 'slotblock_cache_hits_total{cache="parsed_queries"}' in metrics
        assert 'slotblock_cache_entries{cache="parsed_queries"} ' in metrics


async def test_without_the_lean_route_there_is_no_cache_and_the_route_answers(
    database_url: str, tenant: Tenant
) -> None:
    """The frozen query through FastAPI's own route: validated, answered."""
    async with lean(database_url, lean_query_route=False) as app:
        assert getattr(app.app.state, "parsed_queries", None) is None
        answer = await get(app, tenant, window(tenant))
        assert answer.status_code == 200 and answer.json() == {"events": []}


def test_the_kept_query_cannot_be_changed() -> None:
    queries = ParsedQueries(MIB)
    raw = b"locationId=loc&calendarId=cal&startTime=1&endTime=2"
    q = queries(raw)
    assert q is not None
    for name, value in (("location_id", "other"), ("start_time", "0"), ("timeZone", "UTC")):
        with pytest.raises(ValidationError, match="frozen"):
            setattr(q, name, value)
    with pytest.raises(ValidationError, match="frozen"):
        del q.calendar_id
    again = queries(raw)
    assert again is q
    assert (q.location_id, q.calendar_id, q.start_time, q.end_time, q.timeZone) == (
        "loc", "cal", "1", "2", None,
    )  # fmt: skip


async def test_the_cache_on_and_off_answer_as_the_route(
    database_url: str, services: Services, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    """The lean route with the cache on (alone, and with every other switch) and off, each
    request twice, against the straightforward path: windows of every filter, every unusual
    request and unknown target, then Hypothesis's windows (repeated, shifted, in another zone, a parameter
    repeated) — status, headers and body, byte for byte."""
    data = await populated(services, client, tenant)
    kinds = [
        app_settings(database_url, Switches(lean=True, parsed=True)),
        app_settings(database_url, ALL_ON),
        app_settings(database_url, Switches(lean=True)),
    ]
    assert [k.parsed_query_cache_bytes > 0 for k in kinds] == [True, True, False]
    async with AsyncExitStack() as stack:
        reference = await stack.enter_async_context(serving(app_settings(database_url, REFERENCE)))
        apps = [await stack.enter_async_context(serving(k)) for k in kinds]
        requests = watched(data) + unusual_requests(data)
        statuses = await compare(apps, reference, requests + requests)
        assert {200, 400, 401, 403, 404} <= set(statuses)
        await anyio.to_thread.run_sync(explore, apps, reference, data, 25)
        for app in apps[:2]:
            stats = parsed(app).stats()
            assert stats.hits >= len(requests) and stats.entries > 0
        assert parsed(apps[2]).stats() == CacheStats(0, 0, 0, 0, 0)
