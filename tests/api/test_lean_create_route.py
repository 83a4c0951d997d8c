"""The lean create route (api/routes/block_slot_create_lean.py) against FastAPI's route.

Two apps on one database, the same production machinery (rate limits counting every
request, request ids, metrics), one with the lean route and one without. Each request is
sent to both, counters fresh, and the answers must be the same — status, headers, body —
once the parts that legitimately differ are named: a created block's id (new on each app)
and its ETag, and its dateAdded/dateUpdated (each app's own write time). The requests: valid
creates (a calendar's, a user's, a series, every optional text), bodies FastAPI must explain
(not JSON, not an object, a missing or unknown field, a wrong type, an invalid rule), other
content types, a repeated Content-Type, an Idempotency-Key, headers the caller's checks
refuse (no or unknown token, no Version), another location, a calendar that does not exist
or belongs to another location, a token without calendars.write, a body over the size limit
(declared and streamed), and a burst past the rate limit; and on PostgreSQL the database cut
off behind a proxy (503 with the configured Retry-After, nothing written) and back.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from slotblock.config import Settings
from slotblock.core.model import EVENTS_READ
from slotblock.service.container import Services
from tests.api.tcp_proxy import TcpProxy
from tests.api.test_fast_path_differential import (
    ALL_ON,
    RETRY_AFTER,
    T0,
    App,
    app_settings,
    iso,
    serving,
)
from tests.conftest import PG_URL, POSTGRESQL, Tenant

pytestmark = pytest.mark.anyio

PATH = "/calendars/events/block-slots"
_MADE_AT = re.compile(r'"(dateAdded|dateUpdated)":"[^"]*"')
_ID = re.compile(r'"id":"([^"]*)"')


def settings(url: str, *, lean: bool, **more: Any) -> Settings:
    return app_settings(url, ALL_ON).model_copy(update={"lean_create_route": lean, **more})


Names = dict[str, str]  # an app's made ids and ETags -> their names


def normalised(response: httpx.Response, names: Names) -> tuple[int, list[tuple[str, str]], str]:
    """The answer with each made id and ETag named by the order in which its app first gave
    it (`made-1`, …: a replay gives an earlier one's name, a new block a new name), and its
    write times masked."""

    def name(value: str) -> str:
        return names.setdefault(value, f"made-{len(names) + 1}")

    headers = [(k, name(v) if k == "etag" else v) for k, v in response.headers.multi_items()]
    body = _MADE_AT.sub(lambda m: f'"{m[1]}":"<made>"', response.text)
    body = _ID.sub(lambda m: f'"id":"{name(m[1])}"', body)
    return response.status_code, headers, body


@dataclass
class Pair:
    """The app with the lean route and the app without it, and what each made so far."""

    lean: App
    route: App
    lean_names: Names = field(default_factory=dict)
    route_names: Names = field(default_factory=dict)

    async def post(self, content: Any, headers: Any, *, fresh: bool = True) -> int:
        """Sent to both (counters fresh unless not `fresh`); the answers must be alike."""
        if fresh:
            self.lean.fresh_limits()
            self.route.fresh_limits()
        want = await self.route.client.post(PATH, content=content(), headers=headers)
        got = await self.lean.client.post(PATH, content=content(), headers=headers)
        assert normalised(got, self.lean_names) == normalised(want, self.route_names), (
            headers,
            got.text,
            want.text,
        )
        return want.status_code


@asynccontextmanager
async def pair(url: str, **more: Any) -> AsyncIterator[Pair]:
    async with (
        serving(settings(url, lean=True, **more)) as lean,
        serving(settings(url, lean=False, **more)) as route,
    ):
        yield Pair(lean, route)


def sent(body: bytes) -> Any:
    return lambda: body


def json_headers(t: Tenant, **more: str) -> dict[str, str]:
    return {**t.headers(), "Content-Type": "application/json", "X-Request-Id": "create", **more}


def bodies(t: Tenant, other_calendar: str) -> list[Any]:
    start, end = iso(T0 + 3_600_000), iso(T0 + 7_200_000)
    base = {"locationId": t.location_id, "startTime": start, "endTime": end}
    return [
        {**base, "calendarId": t.calendar_id},
        {
            **base,
            "calendarId": t.calendar_id,
            "title": "Focus",
            "description": "d",
            "notes": "n",
            "address": "a",
        },
        {**base, "assignedUserId": t.user_id, "title": "Out"},
        {**base, "calendarId": t.calendar_id, "rrule": "RRULE:FREQ=WEEKLY;COUNT=3"},
        {
            **base,
            "calendarId": t.calendar_id,
            "rrule": ["RRULE:FREQ=DAILY", "EXDATE:20230403T000000Z"],
        },
        {**base, "calendarId": t.calendar_id, "rrule": "RRULE:FREQ=SOMETIMES"},
        {**base, "calendarId": "noSuchCalendar000000"},
        {**base, "calendarId": other_calendar},
        {**base, "locationId": "someOtherLocation000", "calendarId": t.calendar_id},
        {**base},  # no owner
        {**base, "calendarId": t.calendar_id, "assignedUserId": t.user_id},  # two owners
        {**base, "calendarId": t.calendar_id, "startTime": "tomorrow"},
        {**base, "calendarId": t.calendar_id, "endTime": start},  # ends before it starts
        {**base, "calendarId": t.calendar_id, "colour": "red"},  # unknown field
        {**base, "calendarId": 12},
        {"calendarId": t.calendar_id, "startTime": start, "endTime": end},  # no location
        [base],
        "text",
        None,
        {},
    ]


async def test_creates_answer_as_the_route_does(
    database_url: str, services: Services, tenant: Tenant, make_tenant_fn: Any
) -> None:
    t = tenant
    other = await make_tenant_fn()
    read_only, _ = await services.tenants.create_token(t.location_id, [EVENTS_READ], "read")
    statuses: set[int] = set()
    async with pair(database_url) as apps:
        for body in bodies(t, other.calendar_id):
            statuses.add(await apps.post(sent(json.dumps(body).encode()), json_headers(t)))
        raw_bodies = (b"{", b"", b'{"locationId": NaN}', b"\xff\xfe", b'{"a":1}{"b":2}',
                      b'{"locationId": "' + b"x" * 300 + b'"}')  # fmt: skip
        for raw in raw_bodies:
            statuses.add(await apps.post(sent(raw), json_headers(t)))
        good = sent(json.dumps(bodies(t, other.calendar_id)[0]).encode())
        no = {k: v for k, v in json_headers(t).items() if k not in ("Content-Type", "Version")}
        header_cases = (
            {**no, "Version": "2021-04-15"},  # no Content-Type
            {**no, "Version": "2021-04-15", "Content-Type": "text/plain"},
            json_headers(t, **{"Content-Type": "application/json; charset=utf-8"}),
            json_headers(t, **{"Content-Type": "APPLICATION/JSON"}),
            json_headers(t, **{"Idempotency-Key": "k1"}),
            json_headers(t, **{"Idempotency-Key": "k1"}),  # the replay
            json_headers(t),  # a new block again
            json_headers(t, Authorization="Bearer pit-unknown"),
            {k: v for k, v in json_headers(t).items() if k != "Authorization"},
            no,  # no Version (and no Content-Type)
            {k: v for k, v in json_headers(t).items() if k != "Version"},
            json_headers(t, Authorization=f"Bearer {read_only}"),
            # a repeated Content-Type: two header lines
            [*json_headers(t).items(), ("Content-Type", "application/json")],
        )
        for headers in header_cases:
            statuses.add(await apps.post(good, headers))
    assert {201, 400, 401, 403, 404, 422}.issubset(statuses), statuses


async def test_limits_answer_as_the_route_does(
    database_url: str, services: Services, tenant: Tenant
) -> None:
    """A body over the size limit (declared, and streamed without a length) and a burst
    past the token's rate limit."""
    t = tenant
    good = json.dumps({"locationId": t.location_id, "calendarId": t.calendar_id,
                       "startTime": iso(T0), "endTime": iso(T0 + 3_600_000)}).encode()  # fmt: skip

    def streamed() -> Any:
        async def parts() -> AsyncIterator[bytes]:
            yield good
            yield b" " * 40

        return parts()

    async with pair(database_url, max_body_bytes=len(good) + 10) as apps:
        assert await apps.post(sent(good + b" " * 40), json_headers(t)) == 413
        assert await apps.post(streamed, json_headers(t)) == 413
        assert await apps.post(sent(good), json_headers(t)) == 201
    async with pair(database_url, rate_limit_burst=3) as apps:
        apps.lean.fresh_limits()
        apps.route.fresh_limits()
        seen = [await apps.post(sent(good), json_headers(t), fresh=False) for _ in range(5)]
        assert seen == [201, 201, 201, 429, 429]


@pytest.mark.parametrize("database_url", POSTGRESQL, indirect=True)  # cut off behind a TCP proxy
async def test_an_outage_answers_as_the_route_does_and_writes_nothing(
    database_url: str, services: Services, tenant: Tenant
) -> None:
    t = tenant
    good = sent(json.dumps({"locationId": t.location_id, "calendarId": t.calendar_id,
                            "startTime": iso(T0), "endTime": iso(T0 + 3_600_000)}).encode())  # fmt: skip
    target = sa.make_url(PG_URL).port or 5432
    with TcpProxy(target) as proxy:
        via = sa.make_url(database_url).set(host="127.0.0.1", port=proxy.port)
        async with pair(via.render_as_string(hide_password=False)) as apps:
            assert await apps.post(good, json_headers(t)) == 201
            before = await count_blocks(services)
            proxy.refuse()
            assert await apps.post(good, json_headers(t)) == 503
            apps.lean.fresh_limits()
            gone = await apps.lean.client.post(PATH, content=good(), headers=json_headers(t))
            assert gone.status_code == 503 and gone.headers["retry-after"] == str(RETRY_AFTER)
            proxy.forward()
            assert await count_blocks(services) == before
            assert await apps.post(good, json_headers(t)) == 201
            proxy.cut()
            assert await apps.post(good, json_headers(t)) == 201


async def count_blocks(services: Services) -> int:
    async with services.store.read() as conn:
        found: int = (await conn.exec_driver_sql("SELECT count(*) FROM blocks")).scalar_one()
        return found
