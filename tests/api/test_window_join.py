"""A window joined from kept encodings (api/event_fragments.py `window`) is the answer that
encoding the service's events gives: the same bytes, the same 422 at the same size, and
the service's path wherever the join cannot decide (weeks not expanded yet, more events
than the event loop assembles).

Each case is asked of an app with every cache on (the join answers once a series' weeks are
expanded) and of the reference app with every switch off; the service's path is counted, so
that the windows said to be joined were.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest

from slotblock.api.answer_size import estimated_bytes
from slotblock.api.event_fragments import EventFragments
from slotblock.config import Settings
from slotblock.core.model import Targets
from slotblock.service.blocks import WindowQuery
from slotblock.service.container import Services
from tests.api.calls import create, delete, edit
from tests.api.test_fast_path_differential import (
    ALL_ON,
    DAY,
    REFERENCE,
    T0,
    App,
    app_settings,
    iso,
    same,
    serving,
)
from tests.conftest import Tenant

pytestmark = pytest.mark.anyio

HOUR = 3_600_000


def count_fallbacks(app: App, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A counter of the app's calls of `events_of` (the service's path: events built and
    encoded); the join answered every window that did not call it."""
    blocks = app.services.blocks
    calls = [0]
    events_of = blocks.events_of

    async def counted(*args: Any) -> Any:
        calls[0] += 1
        return await events_of(*args)

    monkeypatch.setattr(blocks, "events_of", counted)
    return calls


@asynccontextmanager
async def pair(url: str, **limits: int) -> AsyncIterator[tuple[App, App]]:
    fast_settings: Settings = replace_settings(app_settings(url, ALL_ON), limits)
    slow_settings: Settings = replace_settings(app_settings(url, REFERENCE), limits)
    async with serving(fast_settings) as fast, serving(slow_settings) as reference:
        yield fast, reference


def replace_settings(settings: Settings, limits: dict[str, int]) -> Settings:
    return settings.model_copy(update=limits) if limits else settings


async def ask(app: App, t: Tenant, start: int, end: int, **params: str) -> httpx.Response:
    query = {"locationId": t.location_id, "startTime": str(start), "endTime": str(end), **params}
    headers = {**t.headers(), "X-Request-Id": "join"}
    return await app.client.get("/calendars/blocked-slots", params=query, headers=headers)


async def both(fast: App, reference: App, t: Tenant, start: int, end: int, **params: str) -> int:
    fast.fresh_limits()
    reference.fresh_limits()
    want = await ask(reference, t, start, end, **params)
    got = await ask(fast, t, start, end, **params)
    same(got, want, (start, end, params))
    return want.status_code


async def test_series_windows_are_joined_and_answer_as_the_reference(
    database_url: str,
    services: Services,
    tenant: Tenant,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    t = tenant
    daily = await create(client, t, title="daily", startTime=iso(T0 + 9 * HOUR),
                         endTime=iso(T0 + 10 * HOUR), rrule="RRULE:FREQ=DAILY")  # fmt: skip
    weekly = await create(client, t, title="weekly", description="notes",
                          startTime=iso(T0 + 2 * DAY), endTime=iso(T0 + 2 * DAY + HOUR),
                          rrule="RRULE:FREQ=WEEKLY", assignedUserId=t.user_id)  # fmt: skip
    for i in range(6):
        await create(client, t, title=f"one-off {i}", startTime=iso(T0 + i * DAY + 9 * HOUR),
                     endTime=iso(T0 + i * DAY + 10 * HOUR))  # fmt: skip
    # an instance with its own texts and times, and a deleted one
    first = T0 + 9 * HOUR
    await edit(client, t, f"{daily['id']}_{first + DAY}_60", title="moved", notes="n",
               startTime=iso(first + DAY + 3 * HOUR), endTime=iso(first + DAY + 4 * HOUR))  # fmt: skip
    await delete(client, t, f"{daily['id']}_{first + 2 * DAY}_60")
    assert weekly["id"]
    async with pair(database_url) as (fast, reference):
        windows = [(T0, T0 + 7 * DAY), (T0 + HOUR, T0 + 7 * DAY + HOUR),
                   (T0 + DAY, T0 + 3 * DAY), (T0 - 3 * DAY, T0 + 10 * DAY),
                   (T0 + 9 * HOUR + 1, T0 + 9 * HOUR + 2)]  # fmt: skip
        for start, end in windows:
            for params in ({"calendarId": t.calendar_id}, {"userId": t.user_id},
                           {"groupId": t.group_id}, {"groupId": t.group_id, "timeZone": "UTC"},
                           {"calendarId": t.calendar_id, "timeZone": "America/New_York"}):  # fmt: skip
                assert await both(fast, reference, t, start, end, **params) == 200
        fallbacks = count_fallbacks(fast, monkeypatch)
        # the same weeks again, other windows inside them: joined from the kept rows
        for shift in (1, 60_000, HOUR):
            start, end = T0 + shift, T0 + 7 * DAY - shift
            for params in (
                {"groupId": t.group_id},
                {"calendarId": t.calendar_id, "timeZone": "UTC"},
            ):
                assert await both(fast, reference, t, start, end, **params) == 200
        assert fallbacks == [0]
        # weeks never expanded: the service's path expands them (and the join takes over)
        assert await both(fast, reference, t, T0 + 70 * DAY, T0 + 72 * DAY, userId=t.user_id) == 200
        assert fallbacks == [1]
        assert (
            await both(fast, reference, t, T0 + 70 * DAY + 1, T0 + 72 * DAY, userId=t.user_id)
            == 200
        )
        assert fallbacks == [1]


async def test_the_join_refuses_at_the_same_size_and_falls_back_past_its_events(
    database_url: str, services: Services, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    """An answer just over the limit is 422 on both paths, just under it 200 on both: the
    join sums the same estimate. Past `max_events` (and the event loop's share) the join
    steps aside and the service's path answers (or refuses) as the reference does."""
    t = tenant
    await create(client, t, title="t" * 400, startTime=iso(T0 + HOUR),
                 endTime=iso(T0 + 2 * HOUR), rrule="RRULE:FREQ=HOURLY;INTERVAL=2")  # fmt: skip
    statuses = set()
    for limit in (4_000, 9_000, 20_000, 65_536):
        async with pair(database_url, max_response_bytes=limit, max_events=60) as (fast, ref):
            for hours in (2, 6, 12, 24, 48, 96, 119, 121, 200):
                start, end = T0, T0 + hours * HOUR
                statuses.add(await both(fast, ref, t, start, end, calendarId=t.calendar_id))
                statuses.add(await both(fast, ref, t, start + 1, end, calendarId=t.calendar_id))
    assert statuses == {200, 422}


async def test_turning_the_fragment_cache_off_turns_the_join_off(
    database_url: str, services: Services, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    t = tenant
    await create(client, t, title="w", startTime=iso(T0), endTime=iso(T0 + HOUR),
                 rrule="RRULE:FREQ=DAILY")  # fmt: skip
    off = replace(ALL_ON, fragments=False)
    async with serving(app_settings(database_url, off)) as app:
        for _ in range(3):
            response = await ask(app, t, T0, T0 + 7 * DAY, calendarId=t.calendar_id)
            assert response.status_code == 200 and len(response.json()["events"]) == 7
        fragments: EventFragments = app.app.state.event_fragments
        assert len(fragments.cache) == 0


async def test_the_join_refuses_exactly_where_the_estimate_does(
    database_url: str, services: Services, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    """The estimate is checked before anything is built, the real size after: a limit
    between them is 422 on the service's path, whichever is larger, so it must be on the
    join's. (One-off events are estimated above their size, a series' instances below.)"""
    t = tenant
    await create(client, t, title="s", startTime=iso(T0 + HOUR), endTime=iso(T0 + 2 * HOUR),
                 rrule="RRULE:FREQ=DAILY", assignedUserId=t.user_id)  # fmt: skip
    for i in range(7):
        await create(client, t, title="o", startTime=iso(T0 + i * DAY + 3 * HOUR),
                     endTime=iso(T0 + i * DAY + 4 * HOUR))  # fmt: skip
    start, end = T0, T0 + 7 * DAY
    principal = await services.tenants.principal(t.location_id)
    sides = set()
    for target in ({"calendarId": t.calendar_id}, {"userId": t.user_id}):
        targets = Targets(calendar_id=target.get("calendarId"), user_id=target.get("userId"))
        q = WindowQuery(t.location_id, start, end, targets)
        events = await services.blocks.query(principal, q)
        estimate = estimated_bytes(events)
        real = len(EventFragments(0).body(events, t.timezone))
        sides.add(estimate > real)
        low, high = sorted((real, estimate))
        for limit in (low - 1, low, (low + high) // 2, high - 1, high):
            status = 200 if limit >= high else 422
            async with pair(database_url, max_response_bytes=limit) as (fast, reference):
                for _ in range(2):  # expanding, then joined
                    got = await both(fast, reference, t, start, end, **target)
                    assert got == status, (target, limit)
    assert sides == {True, False}
