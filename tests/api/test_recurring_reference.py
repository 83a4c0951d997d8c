"""Instances returned by the API equal those of an independent expansion
(icalendar + recurring-ical-events), for seeded random series and windows, on each backend."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import httpx
import pytest

from slotblock.core import recurrence as rec
from slotblock.core.isotime import format_ms, parse_iso, to_ms, zone
from tests.api.calls import create, events
from tests.conftest import Tenant
from tests.unit.test_recurrence_properties import WEEKDAYS, reference

pytestmark = pytest.mark.anyio

RULES = [
    "FREQ=DAILY;INTERVAL={n}",
    "FREQ=WEEKLY;INTERVAL={n};BYDAY=MO,WE,FR",
    "FREQ=MONTHLY;COUNT={c}",
    "FREQ=YEARLY;INTERVAL={n}",
    "FREQ=DAILY;COUNT={c}",
    "FREQ=WEEKLY;UNTIL=20300101T000000Z",
]


async def test_api_matches_recurring_ical_events(
    client: httpx.AsyncClient, make_tenant_fn: object
) -> None:
    rng = random.Random(20261124)
    for tz in ("America/New_York", "Australia/Sydney", "Europe/London"):
        tenant: Tenant = await make_tenant_fn(tz)  # type: ignore[operator]
        for _ in range(6):
            wall = datetime(2020, 1, 6, rng.randrange(7, 20), 30) + timedelta(
                days=rng.randrange(0, 1500)
            )
            start_ms = to_ms(wall.replace(tzinfo=zone(tz)))
            template = rng.choice(RULES)
            rule = template.format(n=rng.randrange(1, 4), c=rng.randrange(1, 60))
            if "BYDAY" in rule:  # DTSTART must be an occurrence
                rule += "," + WEEKDAYS[wall.weekday()]
            minutes = rng.choice([30, 90, 600])
            begin, end = (
                format_ms(start_ms, zone(tz)),
                format_ms(start_ms + minutes * 60_000, zone(tz)),
            )
            master = await create(client, tenant, startTime=begin, endTime=end, rrule=rule)
            series = rec.Series(
                start_ms, minutes * 60_000, tz, rec.stored_rule(master["rrule"]),
                rec.last_start(rec.stored_rule(master["rrule"]), start_ms, tz),
            )  # fmt: skip
            for _ in range(3):
                lo = start_ms + rng.randrange(-20, 2000) * rec.DAY_MS // 3
                hi = lo + rng.randrange(1, 90) * rec.DAY_MS
                got = [
                    e
                    for e in await events(client, tenant, lo, hi)
                    if e.get("masterEventId") == master["id"]
                ]
                expected = reference(series, lo, hi)
                assert [parse_iso(e["startTime"]) for e in got] == expected, (rule, tz)
                assert [e["id"] for e in got] == [
                    f"{master['id']}_{s}_{minutes * 60}" for s in expected
                ]
