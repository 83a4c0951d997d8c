"""Resets and fixture loads racing block writers end in a defined answer, never a 500: a
reset or a load waits until no writer is half-way (writers that come meanwhile wait for it,
then find its result), and gives up with 409 when writers keep the tables busy. Both
backends."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable

import httpx
import pytest

from slotblock.store import Store
from slotblock.toolkit.service.fixtures import FixtureService, RuleLimits
from tests.conftest import POSTGRESQL
from tests.toolkit.conftest import ADMIN, API, CALENDAR, LOCATION, SERIES, load, readme_fixture

pytestmark = pytest.mark.anyio
BLOCK = {"locationId": LOCATION, "calendarId": CALENDAR,
         "startTime": "2026-01-05T15:00:00+01:00", "endTime": "2026-01-05T16:00:00+01:00"}  # fmt: skip
# 400: a load of a location that is stored; 401: a writer whose token a reset removed;
# 404: what a reset emptied; 409: a reset or load that writers kept waiting too long
DEFINED = {200, 201, 400, 401, 404, 409}


async def test_resets_and_loads_racing_writers_are_never_a_500(
    admin_client: httpx.AsyncClient,
) -> None:
    fixture = readme_fixture()
    assert (await load(admin_client, fixture)).status_code == 201
    seen: Counter[tuple[str, int]] = Counter()

    async def call(kind: str, request: Awaitable[httpx.Response]) -> None:
        if kind in ("reset", "reset location", "load"):
            await asyncio.sleep(0.003)  # the writers a head start: some of them commit first
        seen[kind, (await request).status_code] += 1

    for _ in range(10):
        edit = {"locationId": LOCATION, "title": "edited"}
        calls = [call("create", admin_client.post("/calendars/events/block-slots", json=BLOCK,
                                                  headers=API)) for _ in range(4)]  # fmt: skip
        calls.append(call("edit", admin_client.put(f"/calendars/events/block-slots/{SERIES}",
                                                   json=edit, headers=API)))  # fmt: skip
        calls += [
            call("reset", admin_client.post("/_admin/reset", headers=ADMIN)) for _ in range(2)
        ]
        calls += [
            call("reset location", admin_client.post(
                "/_admin/reset", json={"locationId": LOCATION}, headers=ADMIN))
            for _ in range(3)
        ]  # fmt: skip
        calls += [call("load", load(admin_client, fixture)) for _ in range(2)]
        await asyncio.gather(*calls)
        await admin_client.post("/_admin/reset", headers=ADMIN)
        assert (await load(admin_client, fixture)).status_code == 201
    assert {status for _, status in seen} <= DEFINED, seen
    assert seen["reset", 200] and seen["create", 201] + seen["edit", 201], seen


@pytest.mark.parametrize("database_url", POSTGRESQL, indirect=True)
async def test_a_reset_that_writers_keep_waiting_gives_up_with_409(store: Store) -> None:
    """A writer that holds its transaction open past the deadline: the reset answers 409
    and changes nothing (PostgreSQL; on SQLite the writer's transaction excludes the
    reset's, which waits for it up to the busy timeout: tests/hardening/test_outages.py)."""
    fixtures = FixtureService(store, RuleLimits(max_count=1000), lambda: 0, deadline_seconds=0.3)
    await fixtures.load_text(readme_fixture())
    async with store.begin() as writer:
        await writer.exec_driver_sql(
            "UPDATE blocks SET title = 'held' WHERE location_id = $1", (LOCATION,)
        )
        with pytest.raises(Exception, match="busy") as refused:
            await fixtures.reset()
    assert type(refused.value).__name__ == "Conflict"
    assert [loc["id"] for loc in (await fixtures.export())["locations"]] == [LOCATION]
