"""Every feed, expanded over a year by an independent RFC 5545 implementation
(recurring-ical-events), shows exactly slotblock's own get-blocked-slots answer for the same
target and window: one-offs, series, DST weeks in several zones, moved, edited and deleted
instances, COUNT and UNTIL series, an instance moved across midnight. On each backend."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant
from tests.feeds.calls import fetch, make_feed, strictly_valid
from tests.feeds.scenario import ZONES, answered, expanded, populate

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("tz", ZONES)
async def test_every_feed_expands_to_the_blocked_slots_answer(
    client: httpx.AsyncClient, make_tenant_fn: object, tz: str
) -> None:
    t: Tenant = await make_tenant_fn(tz)  # type: ignore[operator]
    await populate(client, t)
    targets = ({"calendarId": t.calendar_id}, {"userId": t.user_id}, {"groupId": t.group_id})
    for target in targets:
        for busy in (False, True):
            feed = await make_feed(client, t, busyOnly=busy, **target)
            response = await fetch(client, feed["path"])
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "text/calendar; charset=utf-8"
            strictly_valid(response.content)
            expected = await answered(client, t, target, busy)
            assert len(expected) > 10, target
            assert expanded(response.content) == expected, (target, busy)


async def test_a_busy_only_feed_says_busy_and_nothing_else(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await populate(client, tenant)
    feed = await make_feed(client, tenant, userId=tenant.user_id, busyOnly=True)
    calendar = strictly_valid((await fetch(client, feed["path"])).content)
    events = calendar.walk("VEVENT")
    assert events
    for event in events:
        assert event["SUMMARY"] == "Busy"
        assert not {"DESCRIPTION", "LOCATION", "COMMENT", "ATTENDEE"} & set(event)
    assert b"Dentist" not in (await fetch(client, feed["path"])).content
