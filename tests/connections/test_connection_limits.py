"""Every limit of a sync has a setting and holds: the byte cap, the event cap, the timeout,
the rule-work budget; a failing connection backs off with its error recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from slotblock.config import Settings
from tests.conftest import Clock, Tenant
from tests.connections.calendar_server import CalendarHost, hosting
from tests.connections.test_connections_api import (
    FREE,
    HOLIDAY,
    KEY,
    MEETING,
    blocked,
    connected,
    document,
    sync,
)

pytestmark = pytest.mark.anyio
__all__ = ["connected"]
LIMITS = {
    "connection_max_bytes": 2048,
    "connection_max_events": 3,
    "connection_timeout_seconds": 0.5,
    "connection_sync_seconds": 60,
    "connection_retry_max_seconds": 1000,
    "rule_work": 5000,
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        pool_size=2,
        outbound_allow_networks="127.0.0.0/8",
        connection_key=KEY,
        connection_sync=False,
        webhook_dispatch=False,
        **LIMITS,  # type: ignore[arg-type]
    )


@pytest.fixture
def host() -> Iterator[CalendarHost]:
    with hosting(document(MEETING.format(title="Review"), HOLIDAY)) as served:
        yield served


async def test_a_larger_calendar_than_the_byte_cap_fails_and_keeps_the_last_blocks(
    client: httpx.AsyncClient, tenant: Tenant, connected: str, host: CalendarHost
) -> None:
    assert (await sync(client, tenant, connected))["lastError"] is None
    host.document = document(MEETING.format(title="Review " + "x" * 3000), HOLIDAY)
    state = await sync(client, tenant, connected)
    assert "larger than 2048 bytes" in str(state["lastError"])
    assert len(await blocked(client, tenant, userId=tenant.user_id)) == 4  # kept


async def test_more_events_than_the_cap_fail_the_sync(
    client: httpx.AsyncClient, tenant: Tenant, connected: str, host: CalendarHost
) -> None:
    host.document = document(HOLIDAY, FREE, HOLIDAY.replace("holiday@", "h2@"), FREE)
    state = await sync(client, tenant, connected)
    assert "more than 3 events" in str(state["lastError"])


async def test_a_calendar_that_does_not_answer_in_time_fails_within_the_timeout(
    client: httpx.AsyncClient, tenant: Tenant, connected: str, host: CalendarHost
) -> None:
    host.hang_s = 5.0
    began = time.monotonic()
    state = await sync(client, tenant, connected)
    assert "no answer within 0.5 s" in str(state["lastError"])
    assert time.monotonic() - began < 4.0


async def test_a_rule_past_the_work_budget_is_skipped_with_a_warning(
    client: httpx.AsyncClient, tenant: Tenant, connected: str, host: CalendarHost
) -> None:
    sparse = MEETING.format(title="Leap").replace(
        "RRULE:FREQ=WEEKLY;COUNT=4", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"
    )  # 29 February on a Monday: years apart, walked day by day
    host.document = document(sparse, HOLIDAY)
    state = await sync(client, tenant, connected)
    assert state["lastError"] is None, state
    warnings = state["warnings"]
    assert isinstance(warnings, list) and len(warnings) == 1, state
    assert "weekly-meeting@example.com: skipped" in warnings[0] and "work limit" in warnings[0]
    assert len(await blocked(client, tenant, userId=tenant.user_id)) == 1  # the holiday


async def test_a_failing_connection_backs_off_and_records_its_error(
    client: httpx.AsyncClient, tenant: Tenant, connected: str, host: CalendarHost, clock: Clock
) -> None:
    host.status = 503
    first = await sync(client, tenant, connected)
    assert first["lastError"] == "Unreachable: HTTP 503" and first["failures"] == 1
    assert first["nextAttempt"] == clock.now_ms + 120_000  # the interval, doubled
    second = await sync(client, tenant, connected)
    assert second["failures"] == 2 and second["nextAttempt"] == clock.now_ms + 240_000
    host.status = 404
    for _ in range(3):
        last = await sync(client, tenant, connected)
    assert last["lastError"] == "FetchFailed: HTTP 404"
    assert last["nextAttempt"] == clock.now_ms + 1_000_000  # at most the retry maximum
    host.status = 200
    healed = await sync(client, tenant, connected)
    assert healed["lastError"] is None and healed["failures"] == 0
    assert healed["nextAttempt"] == clock.now_ms + 60_000 and healed["lastSuccess"] == clock.now_ms
