"""Over HTTP, a rule part out of its RFC 5545 range is a 422 naming it (BYMONTHDAY=0 was
stored, 201; COUNT=² was a 500), and nothing is stored."""

from __future__ import annotations

import httpx
import pytest

from slotblock.store import Store
from tests.conftest import Tenant, snapshot

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("rrule", "message"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY values must be from 1 to 31"),
        ("FREQ=DAILY;COUNT=²", "COUNT must be a whole number"),
        ("FREQ=WEEKLY;BYDAY=2MO", "BYDAY ordinals"),
    ],
)
async def test_refused_with_the_part_named(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, rrule: str, message: str
) -> None:
    before = await snapshot(store)
    body = {
        "locationId": tenant.location_id,
        "calendarId": tenant.calendar_id,
        "startTime": "2024-01-01T10:00:00Z",
        "endTime": "2024-01-01T11:00:00Z",
        "rrule": rrule,
    }
    answer = await client.post("/calendars/events/block-slots", json=body, headers=tenant.headers())
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"][0].startswith(f"rrule: {message}")
    assert await snapshot(store) == before
